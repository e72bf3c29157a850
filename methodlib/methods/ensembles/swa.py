"""`swa`: stochastic weight averaging (Izmailov et al. 2018).

"Averaging Weights Leads to Wider Optima and Better Generalization": SGD (or Adam) with a
learning rate held high late in training keeps bouncing around a wide region of low loss;
the equal-weight average of the iterates, θ_SWA = (1/n)·Σ_i θ_i, taken at the end of every epoch
from `start` on, lies nearer its centre and generalises better than any single iterate.

The method owns the learning-rate schedule (`training.lr_schedule` is overridden), as in the
paper's code: the base rate for the first half of the pre-averaging phase, a linear decay to
`swa_lr` × base rate by 90 % of it, then `swa_lr` held constant (or, `schedule: cyclic`,
decaying linearly from the base rate to `swa_lr` within each cycle of `cycle_epochs`, an average
taken at each cycle's end; a cycle cut short by the end of training ends with it).

Averaging starts at epoch ⌊start·epochs⌋ (0-based, at least one average). Batch-norm
statistics of the averaged weights are recomputed on the training data after every update.
Test predictions are the averaged network's (one sample); `run_metrics` reports the validation
accuracy and NLL of both the average and the final iterate of the same run, the comparison the
paper makes. `predict_with: final_iterate` predicts with the last iterate instead: training is
seeded and the averaging does not touch it, so such an experiment is the same run's final
iterate, compared with the average on the test split.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.lr_schedules import anneal
from methodlib.methods.base import (
    ClassifierMethod,
    DataInfo,
    EpochContext,
    MethodConfig,
    StepContext,
)
from methodlib.methods.ensembles.configs import SWAConfig
from methodlib.methods.ensembles.weight_averaging import (
    WeightMoments,
    Weights,
    flat_parameters,
    proba_with,
    weights_from_vector,
)


class SWA(ClassifierMethod):
    Config = SWAConfig
    config: SWAConfig

    def __init__(self, config: MethodConfig, model_name: str, info: DataInfo):
        super().__init__(config, model_name, info)
        self.moments = WeightMoments(self.deviation_rank())
        self.averaged: Weights | None = None
        self.comparison: dict[str, float] = {}

    def deviation_rank(self) -> int | None:
        """Deviation columns the weight moments keep: none, SWA needs only the mean."""
        return None

    def start_epoch(self, epochs: int) -> int:
        return min(math.floor(self.config.start * epochs), epochs - 1)

    def cycle_epochs(self) -> int:
        return self.config.cycle_epochs if self.config.schedule == "cyclic" else 1

    def lr_factor(self, ctx: StepContext) -> float:
        start = self.start_epoch(ctx.epochs)
        position = ctx.epoch + ctx.step / ctx.steps_per_epoch
        if ctx.epoch < start:
            return anneal(position / start, self.config.swa_lr)
        if self.config.schedule == "constant":
            return self.config.swa_lr
        t = ((position - start) % self.cycle_epochs()) / self.cycle_epochs()
        return 1.0 - (1.0 - self.config.swa_lr) * t

    def averages_after(self, epoch: int, epochs: int) -> bool:
        start = self.start_epoch(epochs)
        cycle_end = (epoch - start + 1) % self.cycle_epochs() == 0
        return epoch >= start and (cycle_end or epoch == epochs - 1)

    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        if self.averages_after(ctx.epoch, ctx.epochs):
            self.moments.update(flat_parameters(model))
            self.averaged = weights_from_vector(
                model, self.moments.mean, ctx.x_train, ctx.batch_size
            )
        if ctx.last:
            self.comparison = self.compare_on_validation(model, ctx)

    @torch.no_grad()
    def compare_on_validation(self, model: nn.Module, ctx: EpochContext) -> dict[str, float]:
        """Validation accuracy and NLL of the final iterate and of the average."""
        mode = model.training
        model.eval()
        try:
            metrics = {}
            for label, predict in (
                ("final_iterate", ClassifierMethod.predict_proba),
                ("swa", SWA.swa_proba),
            ):
                probs = torch.cat(
                    [
                        predict(self, model, ctx.x_val[i : i + ctx.batch_size]).mean(0)
                        for i in range(0, len(ctx.x_val), ctx.batch_size)
                    ]
                )
                nll = F.nll_loss(probs.clamp_min(1e-12).log(), ctx.y_val)
                metrics[f"{label}_val_nll"] = nll.item()
                accuracy = (probs.argmax(1) == ctx.y_val).float().mean()
                metrics[f"{label}_val_accuracy"] = accuracy.item()
            return metrics
        finally:
            model.train(mode)

    @torch.no_grad()
    def swa_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The averaged network's prediction (1, batch, classes); the model's own before the
        first average."""
        if self.averaged is None:
            return super().predict_proba(model, x)
        return proba_with(model, self.averaged, x).unsqueeze(0)

    @torch.no_grad()
    def predict_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.config.predict_with == "final_iterate":
            return super().predict_proba(model, x)
        return self.swa_proba(model, x)

    def epoch_metrics(self, model: nn.Module) -> dict[str, float]:
        return {"models_averaged": self.moments.n}

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        return dict(self.comparison)

    def state_dict(self) -> dict[str, Any]:
        return {
            "moments": self.moments.state_dict(),
            "averaged": self.averaged or {},
            "comparison": {key: torch.tensor(value) for key, value in self.comparison.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.moments.load_state_dict(state["moments"])
        self.averaged = state["averaged"] or None
        self.comparison = {key: value.item() for key, value in state["comparison"].items()}
