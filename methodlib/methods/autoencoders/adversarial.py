"""What the adversarially trained autoencoders (PAGAN, ALI) share: the discriminators as an
extra objective of the shared training loop, and the non-saturating losses.

On each batch the loop steps the method's `objectives` before its `loss` (`loop.fit`). Here
the one objective, `disc`, draws the step's contests — each a discriminator with a batch of
"real" and of "fake" inputs — and returns the discriminators' loss on them, which the loop
minimises with Adam at `discriminator_lr`, β = (0.5, 0.999) as in DCGAN; `loss` then gives
the generator and encoder loss on the same draws against the updated discriminators (G and E
are run once per step, as in the PyTorch DCGAN example), stepped by the experiment's
optimizer over `param_groups`. Both rates follow the experiment's `lr_schedule`, each from its
own base; the loop checks both losses for finite values, checkpoints both optimizers and logs
the discriminators' mean loss as `disc_loss`.

Losses (Goodfellow et al. 2014, the non-saturating form): a discriminator minimises
softplus(−D(real)) + softplus(D(fake)); G and E minimise the same with the labels swapped,
softplus(D(real)) + softplus(−D(fake)), the first term only where the real side comes from the
model (ALI's (x, E(x))), since elsewhere it does not depend on G or E.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.autoencoders.autoencoding import AutoencodingMethod
from methodlib.methods.autoencoders.configs import AdversarialConfig
from methodlib.methods.base import Objective, StepContext

BETAS = (0.5, 0.999)
Penalty = torch.Tensor | float


def discriminator_objective(model: nn.Module, lr: float, loss: Any) -> Objective:
    """The `disc` objective of a GAN: Adam with DCGAN's β over the model's
    `discriminator_parameters()` at `method.discriminator_lr` (the MH GAN shares it)."""
    groups = [{"params": model.discriminator_parameters(), "betas": BETAS}]
    return Objective("disc", groups, lr, "method.discriminator_lr", loss)


@dataclass(frozen=True)
class Contest:
    """One discriminator's task on a batch: inputs are tuples of the discriminator's arguments
    (an image, or an image and a code); `real_from_model` marks real sides that G or E made;
    `weight` scales the contest's term in the G and E loss (0: the contest only trains the
    discriminator)."""

    discriminator: str
    real: tuple[torch.Tensor, ...]
    fake: tuple[torch.Tensor, ...]
    real_from_model: bool = False
    weight: float = 1.0


class AdversarialMethod(AutoencodingMethod):
    """Subclasses draw the contests; this class trains both sides on them."""

    def __init__(self, config: AdversarialConfig, model_name, info):
        super().__init__(config, model_name, info)
        self.draws: tuple[torch.Tensor, list[Contest], Penalty] | None = None  # (x, contests)

    def param_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        """G and E with DCGAN's β₁ = 0.5 too: a shorter gradient memory against a moving
        discriminator."""
        return [{"params": model.generator_parameters(), "betas": BETAS}]

    def contests(self, model: nn.Module, x: torch.Tensor) -> tuple[list[Contest], Penalty]:
        """The step's contests, and the per-example terms of the G and E loss that are not
        adversarial (0.0 for none)."""
        raise NotImplementedError

    def objectives(self, model: nn.Module) -> list[Objective]:
        return [
            discriminator_objective(model, self.config.discriminator_lr, self.discriminator_loss)
        ]

    def discriminator_loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        """The discriminators' loss on the batch's contests, drawn here and kept for `loss`."""
        contests, penalty = self.contests(model, x)
        self.draws = (x, contests, penalty)
        loss = torch.zeros((), device=x.device)
        for c in contests:
            d = model.discriminators[c.discriminator]
            real = d(*(t.detach() for t in c.real))
            fake = d(*(t.detach() for t in c.fake))
            loss = loss + F.softplus(-real).mean() + F.softplus(fake).mean()
        return loss

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        """G and E's loss on the contests the discriminator step drew from this batch (new
        draws where no discriminator step came first)."""
        draws, self.draws = self.draws, None
        if draws is None or draws[0] is not x:
            draws = (x, *self.contests(model, x))
        return self._generator_losses(model, *draws[1:]).mean()

    def losses(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return self._generator_losses(model, *self.contests(model, x))

    def _generator_losses(
        self, model: nn.Module, contests: list[Contest], penalty: Penalty
    ) -> torch.Tensor:
        discriminators = model.discriminators
        discriminators.requires_grad_(False)  # G's step leaves the discriminators' grads alone
        try:
            total = penalty
            for c in contests:
                if not c.weight:  # a lesson for the discriminator alone
                    continue
                d = discriminators[c.discriminator]
                term = F.softplus(-d(*c.fake))
                if c.real_from_model:
                    term = term + F.softplus(d(*c.real))
                total = total + c.weight * term
        finally:
            discriminators.requires_grad_(True)
        return total
