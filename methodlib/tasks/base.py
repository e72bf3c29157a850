"""What every task plug-in provides (see `methodlib/tasks/__init__.py`)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, ClassVar

COMMON_METRICS = ("params", "train_seconds")
"""In every run's metrics.json, whatever its task."""
COMMON_LOG_COLUMNS = ("epoch", "train_loss", "lr", "seconds")
"""In every run's train_log.csv (train.py writes them)."""


class Task:
    """A task's declarations (cheap) and its hooks (which import torch or numpy lazily)."""

    name: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]] = ()
    """Names in a run's metrics.json; `*` stands for a number or a suffix (`mauve_steps_*`).
    Methods add their own (`MethodConfig.metrics`)."""
    log_columns: ClassVar[tuple[str, ...]] = ()
    """Validation columns of train_log.csv besides `COMMON_LOG_COLUMNS`."""
    text_data: ClassVar[bool] = False
    """Whether the task runs on text datasets (and only there)."""

    def all_metrics(self, method: Any) -> tuple[str, ...]:
        """The metric patterns of a run of `method` (a config class or instance)."""
        return (*COMMON_METRICS, *self.metrics, *getattr(method, "metrics", ()))

    def all_log_columns(self, method: Any) -> tuple[str, ...]:
        return (*COMMON_LOG_COLUMNS, *self.log_columns, *getattr(method, "log_columns", ()))

    def needs_judge(self, dataset: Any) -> bool:
        """Whether runs on this dataset (a dataset spec) are scored with the dataset's judge
        (`train_judge`): image generation (`fid_judge`) and text (`judge_ppl`)."""
        return False

    def evaluation_reads_data(self) -> bool:
        """Whether `evaluate_run` reads the prepared dataset (text: `memorization`)."""
        return False

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        """Per-experiment report files this task adds, relative to the reports folder."""
        return []


def matches(name: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Whether a metric name (or a figure's `prefix_*` pattern) is one of `patterns`."""
    return any(name == p or fnmatchcase(name, p) or fnmatchcase(p, name) for p in patterns)
