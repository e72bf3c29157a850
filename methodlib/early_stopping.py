"""Early stopping on validation (`training.early_stopping`, `EarlyStoppingSpec`): the state
that `methodlib.loop.fit` keeps between epochs to stop a run whose validation quantity has
stopped improving, and to end it with its best epoch's weights.

After each epoch's log row the loop calls `update`; an epoch improves on the best so far when
its `by` value is finite and better by more than `min_delta`. The run stops once `patience`
epochs in a row have not improved. With `restore_best`, the state of the best epoch is kept in
memory, on the CPU: the model's state_dict, the method's state (its running averages,
snapshots) and the RNG states, so that what is computed after training (the test outputs) is
exactly what a run trained for that many epochs would compute. The whole state travels in the
loop's per-epoch checkpoint, so a resumed run stops, and restores, exactly as an uninterrupted
one. The training log marks the epoch kept (`KEPT_COLUMN`), which selections read
(`methodlib/selection.py`).
"""

from __future__ import annotations

import copy
import math
import sys
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from methodlib.errors import RunError
from methodlib.methods import Method
from methodlib.spec import EarlyStoppingSpec
from methodlib.tasks.base import KEPT_COLUMN


@dataclass
class EarlyStopping:
    """Where a run stands against `spec`: its best value and epoch (1-based, as logged), the
    epochs since, and (with `restore_best`) that epoch's state."""

    spec: EarlyStoppingSpec
    best: float | None = None
    best_epoch: int | None = None
    since_best: int = 0
    snapshot: dict[str, Any] | None = None

    @property
    def stopped(self) -> bool:
        """Whether `patience` epochs have passed without improvement: train no further."""
        return self.since_best >= self.spec.patience

    def update(self, row: dict[str, Any], model: nn.Module, method: Method, name: str) -> None:
        """Take the epoch of log `row` into account (after its validation columns)."""
        by = self.spec.by
        if by not in row:
            raise RunError(
                f"{name}: training.early_stopping.by is {by!r}, but the epoch logged "
                f"{', '.join(row)}; stop on one of its validation columns"
            )
        value = float(row[by])
        if self._improves(value):
            self.best, self.best_epoch, self.since_best = value, int(row["epoch"]), 0
            if self.spec.restore_best:
                self.snapshot = _snapshot(model, method)
        else:
            self.since_best += 1
            if self.stopped:
                print(
                    f"{name}: stopping after epoch {row['epoch']}: {by} has not improved by more "
                    f"than {self.spec.min_delta} for {self.spec.patience} epoch(s) "
                    f"(best {self.best} at epoch {self.best_epoch})",
                    file=sys.stderr,
                )

    def _improves(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        if self.spec.better == "lower":
            return value < self.best - self.spec.min_delta
        return value > self.best + self.spec.min_delta

    def finish(
        self, log: list[dict[str, Any]], model: nn.Module, method: Method
    ) -> list[dict[str, Any]]:
        """End training: restore the best epoch's state if it is not the last one's (with
        `restore_best`), and return the log with its `kept` column. Without a finite value
        in any epoch, or without `restore_best`, the run keeps its last epoch."""
        last = int(log[-1]["epoch"]) if log else None
        kept = last
        if self.snapshot is not None and self.best_epoch is not None:
            kept = self.best_epoch
            if kept != last:
                _restore(self.snapshot, model, method)
        return [{**row, KEPT_COLUMN: int(row["epoch"] == kept)} for row in log]

    def state_dict(self) -> dict[str, Any]:
        """For the loop's checkpoint (tensors on the CPU, the rest plain values)."""
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "since_best": self.since_best,
            "snapshot": self.snapshot,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.since_best, self.snapshot = state["since_best"], state["snapshot"]


def _snapshot(model: nn.Module, method: Method) -> dict[str, Any]:
    return {
        "model": _cpu_copy(model.state_dict()),
        "method": _cpu_copy(method.state_dict()),
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _restore(snapshot: dict[str, Any], model: nn.Module, method: Method) -> None:
    model.load_state_dict(snapshot["model"])
    method.load_state_dict(_cpu_copy(snapshot["method"]))
    torch.set_rng_state(snapshot["rng"])
    if snapshot["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(snapshot["cuda_rng"])


def _cpu_copy(value: Any) -> Any:
    """A copy of a (nested) state on the CPU that later training cannot change: a method's
    state holds tensors that it updates in place and lists that it appends to."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _cpu_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cpu_copy(v) for v in value]
    return copy.deepcopy(value)
