"""What the adversarially trained autoencoders (PAGAN, ALI) share: the discriminator update
inside the shared training loop's single-optimizer step, and the non-saturating losses.

The loop has one optimizer, over `param_groups` (G and E here), and calls `loss` once per
step. So `loss` first draws the step's contests — each a discriminator with a batch of "real"
and of "fake" inputs — takes one Adam step of the discriminators on them (the method's own
optimizer, β = (0.5, 0.999) as in DCGAN, created on the first step, its state in
`state_dict` so that a resumed run continues exactly), and then returns the generator and
encoder loss on the same draws against the updated discriminators (G and E are run once
per step, as in the PyTorch DCGAN example). The discriminator learning rate is constant: the
experiment's `lr_schedule` acts on G and E only.

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
from methodlib.methods.base import StepContext

BETAS = (0.5, 0.999)
Penalty = torch.Tensor | float


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
        self.optimizer: torch.optim.Optimizer | None = None
        self.pending_state: dict[str, Any] | None = None  # loaded before the model was seen
        self.disc_total = 0.0
        self.disc_steps = 0

    def param_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        """G and E with DCGAN's β₁ = 0.5 too: a shorter gradient memory against a moving
        discriminator."""
        return [{"params": model.generator_parameters(), "betas": BETAS}]

    def contests(self, model: nn.Module, x: torch.Tensor) -> tuple[list[Contest], Penalty]:
        """The step's contests, and the per-example terms of the G and E loss that are not
        adversarial (0.0 for none)."""
        raise NotImplementedError

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        contests, penalty = self.contests(model, x)
        self._update_discriminators(model, contests)
        return self._generator_losses(model, contests, penalty).mean()

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

    def _update_discriminators(self, model: nn.Module, contests: list[Contest]) -> None:
        loss = torch.zeros((), device=contests[0].real[0].device)
        for c in contests:
            d = model.discriminators[c.discriminator]
            real = d(*(t.detach() for t in c.real))
            fake = d(*(t.detach() for t in c.fake))
            loss = loss + F.softplus(-real).mean() + F.softplus(fake).mean()
        optimizer = self._optimizer(model)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)  # nothing else writes them: G's step is frozen
        self.disc_total += loss.detach()  # a tensor: no device sync per step
        self.disc_steps += 1

    def _optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        if self.optimizer is None:
            self.optimizer = torch.optim.Adam(
                model.discriminator_parameters(), lr=self.config.discriminator_lr, betas=BETAS
            )
            if self.pending_state is not None:
                self.optimizer.load_state_dict(self.pending_state)
                self.pending_state = None
        return self.optimizer

    def epoch_metrics(self, model: nn.Module) -> dict[str, float]:
        """`disc_loss`: the discriminators' mean loss over the epoch (2 ln 2 ≈ 1.39 per
        discriminator when they cannot tell real from fake)."""
        if not self.disc_steps:
            return {}
        mean = float(self.disc_total) / self.disc_steps
        self.disc_total, self.disc_steps = 0.0, 0
        return {"disc_loss": mean}

    def state_dict(self) -> dict[str, Any]:
        state = self.optimizer.state_dict() if self.optimizer is not None else self.pending_state
        return {} if state is None else {"discriminator_optimizer": state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved = state.get("discriminator_optimizer")
        if saved is None:
            return
        if self.optimizer is None:
            self.pending_state = saved
        else:
            self.optimizer.load_state_dict(saved)
