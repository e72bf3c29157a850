"""What snapshot ensembles (`sse`) and fast geometric ensembling (`fge`) share.

Both train one network under a cyclic learning rate and save its weights at the end of each
cycle, where the rate is lowest and the network sits in a (different) low-loss region; the
test prediction is the ensemble of the snapshots. Cycles are whole epochs (the training loop
hands over control between epochs), each snapshot is the model's full state dict including its
batch-norm statistics, and predictions stack the snapshots' softmax outputs in the order they
were taken, so the first k samples are the ensemble of the first k snapshots.
"""

from __future__ import annotations

import bisect
from typing import Any

import torch
from torch import nn

from methodlib.methods.base import (
    ClassifierMethod,
    DataInfo,
    EpochContext,
    MethodConfig,
    StepContext,
)
from methodlib.methods.ensembles.weight_averaging import Weights, proba_with


class SnapshotEnsemble(ClassifierMethod):
    """A method with cycles of epochs, a learning-rate shape within each cycle, and a snapshot
    at each cycle's end; subclasses say where cycles start and what the shape is."""

    def __init__(self, config: MethodConfig, model_name: str, info: DataInfo):
        super().__init__(config, model_name, info)
        self.snapshots: list[Weights] = []

    def cycle_starts(self, epochs: int) -> list[int]:
        """First epochs (0-based, ascending, starting with 0) of the cycles of a run."""
        raise NotImplementedError

    def shape(self, t: float) -> float:
        """The learning-rate factor at fraction t ∈ [0, 1) of a cycle."""
        raise NotImplementedError

    def cycle_of(self, epoch: int, epochs: int) -> tuple[int, int]:
        """First epoch and length in epochs of the cycle `epoch` belongs to."""
        bounds = [*self.cycle_starts(epochs), epochs]
        i = bisect.bisect_right(bounds, epoch) - 1
        return bounds[i], bounds[i + 1] - bounds[i]

    def lr_factor(self, ctx: StepContext) -> float:
        first, length = self.cycle_of(ctx.epoch, ctx.epochs)
        return self.shape((ctx.epoch - first + ctx.step / ctx.steps_per_epoch) / length)

    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        first, length = self.cycle_of(ctx.epoch, ctx.epochs)
        if ctx.epoch == first + length - 1:
            self.snapshots.append(
                {name: value.detach().clone() for name, value in model.state_dict().items()}
            )

    @torch.no_grad()
    def predict_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Softmax outputs of the snapshots (snapshots, batch, classes); the model's own
        before the first snapshot."""
        if not self.snapshots:
            return super().predict_proba(model, x)
        return torch.stack([proba_with(model, weights, x) for weights in self.snapshots])

    def epoch_metrics(self, model: nn.Module) -> dict[str, float]:
        return {"snapshots": len(self.snapshots)}

    def state_dict(self) -> dict[str, Any]:
        return {"snapshots": list(self.snapshots)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.snapshots = list(state["snapshots"])
