"""The task registry: a method's `task` names one of these plug-ins.

A task owns its data contract, what a training run saves, how a run is evaluated, the metrics
and log columns it produces and which report targets it adds. Methods declare their task (the
`task` class variable of their config); nothing else tests a task's name. Adding a task: one
module here and one line below.

Importing this package is cheap (no torch, numpy or plotting): the schema validates figure
columns against the declared metrics, and the DAG asks for report targets, before any job runs.
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
