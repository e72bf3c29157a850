"""Robust variational inference (Figurnov, Struminsky & Vetrov 2016) for data where most
training images are noise: maximise the robust evidence Σ_i log(ε + p(x_i)) instead of
Σ_i log p(x_i). An image whose p(x) is far below ε adds about log ε whatever the model does,
so it stops pulling on the model; one far above adds about log p(x), as in the ELBO.

Its lower bound here: ε + p(x) = E_q[ε + (1/S) Σ_s p(x, z_s) / q(z_s | x)], so by Jensen

    log(ε + p(x)) ≥ E_q log(ε + (1/S) Σ_s w_s),   w_s = p(x, z_s) / q(z_s | x),

with S = `draws` (S = 1: the ELBO's draw inside log(ε + ·)); the gradient is the
ELBO's weighted by σ(log ŵ − log ε), the model's belief that the image is no noise. ε is per
image and in nats (`log_epsilon`); a digit's log p is about −100, a uniform-noise image's
below −500. Every image starts far below any useful ε (an untrained decoder gives about
−543 to all), where the bound has no gradient: ε therefore rises linearly from
`log_epsilon_start` (the ELBO in effect) to `log_epsilon` over the first `warmup` of training.
Validation (`val_loss`) uses the final ε. `test_ll` is the IWAE bound of log p(x) itself on
the clean test split, the paper's measure."""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.base import StepContext
from methodlib.methods.latent_vi.base import binarise, log_mean_exp
from methodlib.methods.latent_vi.configs import RobustVAEConfig
from methodlib.methods.latent_vi.gaussian import GaussianVAE


class RobustVAE(GaussianVAE):
    Config = RobustVAEConfig

    def log_epsilon(self, progress: float) -> float:
        """log ε after the share `progress` of training (see the warm-up above)."""
        c = self.config
        if progress >= c.warmup:
            return c.log_epsilon
        return c.log_epsilon_start + (c.log_epsilon - c.log_epsilon_start) * progress / c.warmup

    def robust_bound(self, model: nn.Module, x: torch.Tensor, log_epsilon: float) -> torch.Tensor:
        """The lower bound on log(ε + p(x)) of each binary image, shape (B,)."""
        log_w = log_mean_exp(self.log_weights(model, x, self.config.draws), 0)
        return torch.logaddexp(torch.full_like(log_w, log_epsilon), log_w)

    def bound(self, model: nn.Module, x: torch.Tensor, kl: float = 1.0) -> torch.Tensor:
        """The robust bound at the final ε (`kl_warmup` is 0 here: its config says so)."""
        return self.robust_bound(model, x, self.config.log_epsilon)

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        return -self.robust_bound(model, binarise(x), self.log_epsilon(ctx.progress)).mean()
