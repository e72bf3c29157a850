"""The task registry: names, declarations shared by every task, and that a task costs what it
uses: the registry imports nothing heavy, and evaluating a run imports only its own task's
metrics (no torch or generative metrics for classification)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from methodlib.methods import METHOD_CONFIGS
from methodlib.routines import Routine, get_routine
from methodlib.tasks import TASKS, get_task
from methodlib.tasks.base import COMMON_LOG_COLUMNS, COMMON_METRICS


def imported_by(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    return {m.group(1) for m in re.finditer(r"\|\s+(\S+)\s*$", result.stderr, re.M)}


def test_every_method_declares_a_registered_task():
    assert {config.task for config in METHOD_CONFIGS.values()} <= set(TASKS)
    assert all(name == task.name for name, task in TASKS.items())


@pytest.mark.parametrize("name", sorted(TASKS))
def test_common_metrics_and_columns_come_first(name):
    task = get_task(name)
    config = next(c for c in METHOD_CONFIGS.values() if c.task == name)
    assert task.all_metrics(config)[: len(COMMON_METRICS)] == COMMON_METRICS
    assert task.all_log_columns(config)[: len(COMMON_LOG_COLUMNS)] == COMMON_LOG_COLUMNS


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_declaration_names_its_routine(name):
    routine = get_routine(name)
    assert isinstance(routine, Routine)
    assert routine.task == name and routine.declaration is get_task(name)


def test_a_task_without_ensembles_refuses_one():
    from methodlib.errors import RunError

    with pytest.raises(RunError, match="cannot be ensembled; remove the experiment's"):
        get_routine("generation").evaluate_ensemble("exp", [])


@pytest.mark.parametrize("code", ["from methodlib.tasks import TASKS", "import methodlib.routines"])
def test_the_registry_and_the_routines_import_nothing_heavy(code):
    modules = imported_by(code)
    heavy = sorted(m for m in modules if m.split(".")[0] in ("torch", "numpy", "scipy", "pandas"))
    assert not heavy


def test_classification_evaluation_imports_only_its_metrics():
    modules = imported_by(
        "from methodlib.evaluate import evaluate_run; from methodlib.routines import get_routine; "
        "get_routine('classification'); import methodlib.routines.classification_eval"
    )
    # scipy.linalg comes with scipy.optimize (the temperature of `test_calibrated_nll`)
    for module in ("torch", "scipy.stats", "scipy.spatial", "sklearn"):
        assert module not in modules, module
    assert "methodlib.metrics.generative" not in modules
