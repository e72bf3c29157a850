"""`mh_gan`: a GAN read as a Metropolis–Hastings sampler (Neklyudov et al. 2018, section 4):
the generator is an independent proposal q, the discriminator the acceptance test.

A discriminator D trained by the logistic loss to tell data (label 1) from generated samples
(label 0) has, at its optimum, logit D(x) = log p(x)/q(x) = log w(x), so the MH ratio of a move
x → x' is ξ = exp(logit D(x') − logit D(x)) without any density. The generator maximises the
acceptance-rate bound E_{x~data, z} min{0, logit D(G(z)) − logit D(x)} (`mh_bound`; the usual
non-saturating loss is the `nonsaturating` baseline), with the data batch as x ~ p.

The discriminator always sees the generator's draws mapped into the data's domain by
`projection` (on 8×8 digits: clipped to [0, 1]), the samples that are saved: otherwise q is
the law of the raw draws, which a converged discriminator tells from the data by their
negative pixels alone (acceptance ≈ 0 whatever the draws look like once clipped).

The acceptance rate is scored at `scored_epochs` epochs spread over training (the first and
the last among them; the other epochs log NaN), each with a copy of the discriminator refitted
to convergence against the frozen generator and calibrated on the validation split
(`refit.py`); the last epoch's refit replaces the model's discriminator, so the saved samples
are independent MH chains of `mh_steps` steps over the generator's draws with the calibrated
test (`mh_steps: 0` saves the raw draws, the baseline of the MH correction).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.autoencoders.adversarial import BETAS, discriminator_objective
from methodlib.methods.base import EpochContext, Objective, StepContext
from methodlib.methods.generative_base import fixed_rng, to_domain
from methodlib.methods.mh.acceptance import MHMethod, Weighted, log_min_bound
from methodlib.methods.mh.configs import MHGANConfig
from methodlib.methods.mh.refit import (
    Refit,
    StoppingRule,
    logistic_loss,
    platt_scaling,
    refit_to_convergence,
)

REFIT_SEED = 1000
"""The refit at epoch e draws its fakes from a forked RNG seeded REFIT_SEED + e: training's
stream is untouched, and the held-out fakes differ from the acceptance's (seed 0)."""
HELD_OUT_FAKES = 1000
"""Generator draws of a refit's held-out set, beside the validation reals."""


def scored_epochs(epochs: int, count: int) -> frozenset[int]:
    """`count` epochs (0-based) evenly spread over training, the first and the last included."""
    if epochs <= count:
        return frozenset(range(epochs))
    return frozenset(i * (epochs - 1) // (count - 1) for i in range(count))


class MHGAN(MHMethod):
    Config = MHGANConfig

    def __init__(self, config, model_name, info):
        super().__init__(config, model_name, info)
        self.scoring: tuple[nn.Module, Refit] | None = None  # this epoch's refit, until validated

    def param_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        return [{"params": model.generator_parameters(), "betas": BETAS}]

    def objectives(self, model: nn.Module) -> list[Objective]:
        return [
            discriminator_objective(model, self.config.discriminator_lr, self.discriminator_loss)
        ]

    def propose(self, model: nn.Module, n: int) -> torch.Tensor:
        """`n` generator draws as the discriminator sees them: in the data's domain."""
        return to_domain(model.generate(n), self.info.domain, self.config.projection)

    def discriminator_loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        with torch.no_grad():
            fake = self.propose(model, len(x))
        return logistic_loss(model.logit, x, fake)

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        fake = self.propose(model, len(x))
        if self.config.generator_loss == "nonsaturating":
            return F.softplus(-model.logit(fake)).mean()
        return -log_min_bound(model.logit(fake) - model.logit(x).detach())

    def log_weight(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model.logit(to_domain(x, self.info.domain, self.config.projection))

    def weighted(self, model: nn.Module, n: int) -> Weighted:
        x = model.generate(n)  # raw: the saved samples are projected (and counted) at the end
        return x, self.log_weight(model, x)

    def refit(self, model: nn.Module, ctx: EpochContext) -> Refit:
        """Refit `model`'s discriminator (in place) to convergence against its frozen
        generator, then fold the Platt calibration on the validation split into it."""
        rule = StoppingRule(
            self.config.calibration_steps, self.config.refit_check_every, self.config.refit_patience
        )
        with fixed_rng(ctx.x_train.device, REFIT_SEED + ctx.epoch):
            with torch.no_grad():
                held_out = (ctx.x_val, self.propose(model, HELD_OUT_FAKES))
            steps, val_loss = refit_to_convergence(
                model.discriminator_parameters(),
                model.logit,
                lambda n: self.propose(model, n),
                ctx.x_train,
                held_out,
                ctx.batch_size,
                self.config.discriminator_lr,
                rule,
            )
        with torch.no_grad():
            scale, shift = platt_scaling(model.logit(held_out[0]), model.logit(held_out[1]))
        model.rescale_logit(scale, shift)
        return Refit(steps, val_loss, scale, shift)

    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        """At a scored epoch: refit a copy of the discriminator (the model's own at the last
        epoch, so the saved chains use it) for this epoch's validation."""
        if ctx.epoch not in scored_epochs(ctx.epochs, self.config.scored_epochs):
            return
        scorer = model if ctx.last else copy.deepcopy(model)
        was_training = scorer.training
        scorer.eval()
        fit = self.refit(scorer, ctx)
        scorer.train(was_training)
        self.scoring = (scorer, fit)

    @torch.no_grad()
    def validation_metrics(
        self, model: nn.Module, x_val: torch.Tensor, batch_size: int = 1000
    ) -> dict[str, float]:
        """The acceptance columns under this epoch's refitted discriminator, with its steps
        and held-out loss; NaN at the epochs that are not scored."""
        if self.scoring is None:
            return dict.fromkeys(
                ("val_loss", "acceptance", "refit_steps", "disc_val_loss"), math.nan
            )
        scorer, fit = self.scoring
        self.scoring = None
        return super().validation_metrics(scorer, x_val, batch_size) | {
            "refit_steps": float(fit.steps),
            "disc_val_loss": fit.val_loss,
        }
