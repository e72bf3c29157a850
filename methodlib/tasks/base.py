"""What every task plug-in provides (see `methodlib/tasks/__init__.py`)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from methodlib.data import Prepared
    from methodlib.methods.base import Method

COMMON_METRICS = ("params", "train_seconds")
"""In every run's metrics.json, whatever its task."""
COMMON_LOG_COLUMNS = ("epoch", "train_loss", "lr", "seconds")
"""In every run's train_log.csv (train.py writes them)."""


class Task:
    """A task's declarations (cheap) and its hooks (which import torch or numpy lazily).

    The training loop (`methodlib/train.py`) calls `validation_columns` after every epoch and
    `test_outputs` once at the end; `evaluate_run` (`methodlib/evaluate.py`) calls `evaluate`
    on the finished run. The workflow asks `needs_judge`, `evaluation_reads_data` and
    `report_targets` while it builds the DAG."""

    name: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]] = ()
    """Names in a run's metrics.json; `*` stands for a number or a suffix (`mauve_steps_*`).
    Methods add their own (`MethodConfig.metrics`)."""
    log_columns: ClassVar[tuple[str, ...]] = ()
    """Validation columns of train_log.csv besides `COMMON_LOG_COLUMNS`."""
    text_data: ClassVar[bool] = False
    """Whether the task runs on text datasets (and only there)."""
    standardise_inputs: ClassVar[bool] = True
    """Whether training sees inputs standardised with the training split's statistics
    (classifiers), or the data as they are, in their domain (models of the data)."""
    index_links: ClassVar[str | None] = None
    """The label of the report index's line that links the task's report targets of each
    experiment (text: its sample tables); None for targets that are not linked (figures)."""
    uncertainty_figures: ClassVar[bool] = False
    """Whether runs keep the points of a reliability diagram and of a risk–coverage curve in
    metrics.json (`reliability`, `risk_coverage`): every study with such runs gets a
    risk–coverage figure, and a reliability figure where the study asks for one."""

    def all_metrics(self, method: Any) -> tuple[str, ...]:
        """The metric patterns of a run of `method` (a config class or instance)."""
        return (*COMMON_METRICS, *self.metrics, *getattr(method, "metrics", ()))

    def all_log_columns(self, method: Any) -> tuple[str, ...]:
        return (*COMMON_LOG_COLUMNS, *self.log_columns, *getattr(method, "log_columns", ()))

    def needs_judge(self, dataset: Any) -> bool:
        """Whether runs on this dataset (a dataset spec) are scored with the dataset's judge
        (`train_judge`): image generation (`fid_judge`) and text (`judge_ppl`)."""
        return False

    def dataset_problem(self, dataset: Any) -> str | None:
        """Why runs of this task cannot use the dataset (a dataset spec), said after its name
        (imputation: it has no test mask); None if they can. Checked when the file is read."""
        return None

    def evaluation_reads_data(self) -> bool:
        """Whether `evaluate_run` reads the prepared dataset (text: `memorization`)."""
        return False

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        """Per-experiment report files this task adds, relative to the reports folder."""
        return []

    def validation_columns(
        self, method: Method, model: nn.Module, data: Prepared, batch_size: int, device: Any
    ) -> dict[str, float]:
        """The training log's per-epoch validation columns (`log_columns`)."""
        return {}

    def test_outputs(
        self, method: Method, model: nn.Module, data: Prepared, batch_size: int, device: Any
    ) -> dict[str, np.ndarray]:
        """What `predictions.npz` holds: the trained model's outputs on the test split."""
        raise NotImplementedError

    def evaluate(
        self, run_dir: Path, record: dict[str, Any], judge: str | Path | None, data: Any
    ) -> dict[str, Any]:
        """metrics.json of a finished run (see `run_result`) from its predictions.npz and its
        run.json (`record`); `judge` is the dataset's judge where `needs_judge`, `data` the
        prepared dataset where `evaluation_reads_data`."""
        raise NotImplementedError


def run_result(
    record: dict[str, Any],
    metrics: dict[str, Any],
    samples: int = 1,
    curve: list[dict[str, Any]] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """What every task's metrics.json holds: the run's identity, its `metrics` (which end with
    the run's `model_stats` and `train_seconds`, see `COMMON_METRICS`), the number of
    predictive samples they were measured on (1 for one model), the metrics against the
    samples (`curve`, empty where there is none) and anything `more` of the task."""
    return {
        "experiment": record["experiment"],
        "seed": record["seed"],
        "config_hash": record["config_hash"],
        "samples": samples,
        "metrics": metrics,
        "curve": curve or [],
        **more,
    }


def matches(name: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Whether a metric name (or a figure's `prefix_*` pattern) is one of `patterns`."""
    return any(name == p or fnmatchcase(name, p) or fnmatchcase(p, name) for p in patterns)
