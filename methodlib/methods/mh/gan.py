"""`mh_gan`: a GAN read as a Metropolis–Hastings sampler (Neklyudov et al. 2018, section 4):
the generator is an independent proposal q, the discriminator the acceptance test.

A discriminator D trained by the logistic loss to tell data (label 1) from generated samples
(label 0) has, at its optimum, logit D(x) = log p(x)/q(x) = log w(x), so the MH ratio of a move
x → x' is ξ = exp(logit D(x') − logit D(x)) without any density. The generator maximises the
acceptance-rate bound E_{x~data, z} min{0, logit D(G(z)) − logit D(x)} (`mh_bound`; the usual
non-saturating loss is the `nonsaturating` baseline), with the data batch as x ~ p.

After training, the discriminator is refitted for `calibration_steps` against the final,
fixed generator, so that its logit is that generator's density ratio; the saved samples are
then independent MH chains of `mh_steps` steps over the generator's draws (`mh_steps: 0`
saves the raw draws, the baseline of the MH correction).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.autoencoders.adversarial import BETAS, discriminator_objective
from methodlib.methods.base import EpochContext, Objective, StepContext
from methodlib.methods.mh.acceptance import MHMethod, Weighted, log_min_bound
from methodlib.methods.mh.configs import MHGANConfig


def logistic_loss(model: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss: −log D(real) − log(1 − D(fake)), averaged over each side."""
    return F.softplus(-model.logit(real)).mean() + F.softplus(model.logit(fake)).mean()


class MHGAN(MHMethod):
    Config = MHGANConfig

    def param_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        return [{"params": model.generator_parameters(), "betas": BETAS}]

    def objectives(self, model: nn.Module) -> list[Objective]:
        return [
            discriminator_objective(model, self.config.discriminator_lr, self.discriminator_loss)
        ]

    def discriminator_loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        with torch.no_grad():
            fake = model.generate(len(x))
        return logistic_loss(model, x, fake)

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        fake = model.generate(len(x))
        if self.config.generator_loss == "nonsaturating":
            return F.softplus(-model.logit(fake)).mean()
        return -log_min_bound(model.logit(fake) - model.logit(x).detach())

    def log_weight(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model.logit(x)

    def weighted(self, model: nn.Module, n: int) -> Weighted:
        x = model.generate(n)
        return x, model.logit(x)

    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        """After the last epoch: refit the discriminator to the final generator."""
        if not ctx.last or not self.config.calibration_steps:
            return
        optimizer = torch.optim.Adam(
            model.discriminator_parameters(), lr=self.config.discriminator_lr, betas=BETAS
        )
        n = len(ctx.x_train)
        for _ in range(self.config.calibration_steps):
            real = ctx.x_train[torch.randint(0, n, (ctx.batch_size,), device=ctx.x_train.device)]
            with torch.no_grad():
                fake = model.generate(len(real))
            loss = logistic_loss(model, real, fake)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
