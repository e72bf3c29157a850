"""Each task's routine: the hooks that train, save and evaluate its runs (`base.Routine`).

A task's declaration (`methodlib/tasks/`, torch-free, what the schema and the DAG read) names
its routine (`Task.routine`, "module:Class"), as a method's config names its implementation;
the routine is imported when a job runs it. Routines stand above the training loop and the
judges: they may import both, and nothing below them imports a routine (`train_run`,
`evaluate_run` and `evaluate_group` call them from above)."""

from __future__ import annotations

import importlib
from functools import cache

from methodlib.routines.base import Routine
from methodlib.tasks import get_task


@cache
def get_routine(task: str) -> Routine:
    """The routine of the task named `task`, importing its module (cheap: its hooks import
    torch and the task's metrics when they run)."""
    module, _, cls = get_task(task).routine.partition(":")
    return getattr(importlib.import_module(module), cls)()


__all__ = ["Routine", "get_routine"]
