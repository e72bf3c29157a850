"""`swag`: SWA-Gaussian (Maddox et al. 2019).

"A Simple Baseline for Bayesian Uncertainty in Deep Learning": the iterates SWA averages also
give a Gaussian posterior N(θ_SWA, Σ) over the weights, with Σ = ½·(Σ_diag + D·Dᵀ/(K − 1)):
Σ_diag = diag(E[θ²] − θ_SWA²) from the running mean of the squared weights, and D the last
K ≤ `max_rank` deviation columns θ_i − θ̄_i collected with the average. A draw is

    θ = θ_SWA + √(scale/2)·√Σ_diag ⊙ z₁ + √(scale/(2(K − 1)))·D·z₂,   z₁ ~ N(0, I), z₂ ~ N(0, I_K)

(the low-rank term needs K ≥ 2). `scale` 0.5 is the paper's choice and the one the Pitfalls
study (Ashukha et al. 2020) uses. Test predictions are `samples` draws, each with batch-norm
statistics recomputed on the training data; the draws are taken once, on the first prediction
after the posterior last changed, so that every batch of a split sees the same networks.

Training, learning-rate schedule and averaging are SWA's (`swa`); the per-epoch validation
predictions are the SWA mean's, which is cheap.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from methodlib.methods.base import DataInfo, EpochContext, MethodConfig
from methodlib.methods.ensembles.configs import SWAGConfig
from methodlib.methods.ensembles.swa import SWA
from methodlib.methods.ensembles.weight_averaging import (
    Weights,
    has_batch_norm,
    proba_with,
    weights_from_vector,
)


class SWAG(SWA):
    Config = SWAGConfig
    config: SWAGConfig

    def __init__(self, config: MethodConfig, model_name: str, info: DataInfo):
        super().__init__(config, model_name, info)
        self.x_train: torch.Tensor | None = None
        self.batch_size = 0
        self.draws: list[Weights] = []

    def deviation_rank(self) -> int:
        return self.config.max_rank

    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        self.x_train, self.batch_size = ctx.x_train, ctx.batch_size
        if self.averages_after(ctx.epoch, ctx.epochs):
            self.draws = []
        super().on_epoch_end(model, ctx)

    def sample(self) -> torch.Tensor:
        """One weight vector from the SWAG posterior (the global RNG draws z₁, z₂)."""
        m, scale = self.moments, self.config.scale
        z1 = torch.randn_like(m.mean)
        theta = m.mean + math.sqrt(scale / 2) * m.variance().sqrt() * z1
        k = len(m.deviations)
        if k >= 2:
            z2 = torch.randn(k, device=m.mean.device, dtype=m.mean.dtype)
            theta += math.sqrt(scale / (2 * (k - 1))) * (torch.stack(m.deviations, 1) @ z2)
        return theta

    def posterior_draws(self, model: nn.Module) -> list[Weights]:
        if not self.draws:
            if self.x_train is None and has_batch_norm(model):
                raise RuntimeError(
                    "swag: the posterior draws need the training inputs to recompute their "
                    "batch-norm statistics, and on_epoch_end has not handed them over since "
                    "the method was restored (a run resumed after its last epoch); delete "
                    "the run's state/ folder to train it again"
                )
            self.draws = [
                weights_from_vector(model, self.sample(), self.x_train, self.batch_size)
                for _ in range(self.config.samples)
            ]
        return self.draws

    @torch.no_grad()
    def predict_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.moments.mean is None:
            return self.swa_proba(model, x)
        return torch.stack([proba_with(model, w, x) for w in self.posterior_draws(model)])

    @torch.no_grad()
    def validation_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return self.swa_proba(model, x)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.draws = []
