"""The task registry: a method's `task` names one of these declarations.

A task's declaration (`base.Task`) says what the schema and the workflow read about it: the
metrics and log columns its runs produce, which datasets it takes, whether it needs a judge,
which report targets it adds. What it does (the training log's validation columns, what a run
saves, how a run and a deep ensemble are evaluated) is its routine's (`Task.routine`, in
`methodlib/routines/`). Methods declare their task (the `task` class variable of their
config); nothing else tests a task's name. Adding a task: one declaration here, one routine
there, one line below.

This floor is the bottom: torch-, numpy- and plotting-free, and it imports nothing of methodlib
above it. The schema validates figure columns against the declared metrics, and the DAG asks
for report targets, before any job runs.
"""

from __future__ import annotations

from methodlib.tasks.adaptive import AdaptiveClassification
from methodlib.tasks.base import Task
from methodlib.tasks.classification import Classification
from methodlib.tasks.estimator import Estimator
from methodlib.tasks.generation import Generation
from methodlib.tasks.imputation import Imputation
from methodlib.tasks.text import Text
from methodlib.tasks.text_classification import TextClassification
from methodlib.tasks.word_lm import WordLM

TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Classification(),
        Generation(),
        Text(),
        Imputation(),
        Estimator(),
        TextClassification(),
        AdaptiveClassification(),
        WordLM(),
    )
}


def get_task(name: str) -> Task:
    return TASKS[name]


__all__ = ["TASKS", "Task", "get_task"]
