"""What every task's routine provides: the hooks that run (see `methodlib/routines/__init__.py`).

A routine is the half of a task that does the work: `train_run` (`methodlib/train.py`) calls
`validation_columns` after every epoch and `test_outputs` once at the end, `evaluate_run`
(`methodlib/evaluate.py`) calls `evaluate` on the finished run, `evaluate_group`
(`methodlib/evaluate_group.py`) calls `evaluate_ensemble` on a deep ensemble's members. The
other half, what the schema and the workflow read (`methodlib/tasks/`), is below it: a routine
may import its declaration, the data, the methods, the metrics, the judges and the training
loop, and nothing below imports a routine. Modules stay cheap to import: each hook imports
torch or its task's metrics itself, so an evaluation job imports only its own."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from methodlib.errors import RunError
from methodlib.tasks import get_task

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from methodlib.data import Prepared
    from methodlib.methods.base import Method
    from methodlib.tasks.base import Task


class Routine:
    """The hooks of the task named `task` (its declaration: `methodlib.tasks.TASKS[task]`)."""

    task: ClassVar[str]

    @property
    def declaration(self) -> Task:
        return get_task(self.task)

    def validation_columns(
        self, method: Method, model: nn.Module, data: Prepared, batch_size: int, device: Any
    ) -> dict[str, float]:
        """The training log's per-epoch validation columns (the declaration's `log_columns`)."""
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
        run.json (`record`); `judge` is the dataset's judge where the declaration's
        `needs_judge`, `data` the prepared dataset where its `evaluation_reads_data`."""
        raise NotImplementedError

    def evaluate_ensemble(self, experiment: str, predictions: list[Path]) -> dict[str, Any]:
        """metrics.json of the deep ensemble of the runs whose predictions.npz are given, with
        its metrics against the number of members as `curve` (`evaluate_group` writes it
        out as curve.csv too)."""
        raise RunError(
            f"{experiment}: runs of the {self.task} task cannot be ensembled; "
            "remove the experiment's `ensemble` block"
        )


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
