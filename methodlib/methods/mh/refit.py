"""The discriminator that scores an MH GAN: refitted against the frozen generator until its
held-out loss stops improving, then calibrated on the validation split (Platt scaling).

The GAN's acceptance rate and its MH test read log w = logit D, which is log p/q only for a
discriminator at the logistic loss's optimum for *that* generator. The discriminator of a
training step is not (after the first epoch it cannot yet tell real from fake, and its
estimate of the acceptance rate is inflated towards 1), and one refitted for a fixed number of
steps is converged at some epochs and not at others; so every scored epoch refits a copy to
the same stopping rule, and the last epoch's refit becomes the model's discriminator for the
saved chains. The rule: Adam steps on training reals against fresh generator draws, the
logistic loss on the validation reals against a fixed draw of fakes checked every
`check_every` steps (and at `max_steps`), stop after `patience` checks without a new best (or
at `max_steps`), keep the best check's weights. Platt scaling then fits logit' = a·logit + b on the same held-out
reals and fakes, so the log ratio the MH test reads is calibrated where the discriminator was
not trained (a < 1 shrinks an overconfident discriminator's ratios; b cancels in ξ).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from methodlib.methods.autoencoders.adversarial import BETAS

Critic = Callable[[torch.Tensor], torch.Tensor]
"""x → logit D(x), the discriminator's log density-ratio estimate."""
Proposer = Callable[[int], torch.Tensor]
"""n → n draws of the frozen generator, as the discriminator sees them."""

MAX_LOG_SCALE = 5.0
"""Platt's scale a is kept in [e^-5, e^5]: where the held-out reals and fakes are separated
perfectly the loss falls without end as a grows, and the bound stops it."""


def logistic_loss(critic: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss: −log D(real) − log(1 − D(fake)), averaged over each side."""
    return F.softplus(-critic(real)).mean() + F.softplus(critic(fake)).mean()


@dataclass(frozen=True)
class StoppingRule:
    """When a refit stops: `patience` checks, `check_every` steps apart, without a lower
    held-out loss, or `max_steps`."""

    max_steps: int
    check_every: int
    patience: int


@dataclass(frozen=True)
class Refit:
    """What a refit did: the steps to its best check, that check's held-out loss, and the
    Platt scale and shift fitted after it."""

    steps: int
    val_loss: float
    scale: float
    shift: float


def refit_to_convergence(
    parameters: list[nn.Parameter],
    critic: Critic,
    propose: Proposer,
    x_train: torch.Tensor,
    held_out: tuple[torch.Tensor, torch.Tensor],
    batch_size: int,
    lr: float,
    rule: StoppingRule,
) -> tuple[int, float]:
    """Train the discriminator's `parameters` (in place) on training reals against fresh
    proposals, stopped on the logistic loss over `held_out` (reals, fakes); ends with the best
    check's weights (step 0: the weights it started from). Returns (best step, best loss)."""
    optimizer = torch.optim.Adam(parameters, lr=lr, betas=BETAS)
    real_val, fake_val = held_out

    def held_out_loss() -> float:
        with torch.no_grad():
            return float(logistic_loss(critic, real_val, fake_val))

    best_loss, best_step, best = held_out_loss(), 0, parameters_to_vector(parameters).detach()
    waited = 0
    for step in range(1, rule.max_steps + 1):
        real = x_train[torch.randint(0, len(x_train), (batch_size,), device=x_train.device)]
        with torch.no_grad():
            fake = propose(batch_size)
        loss = logistic_loss(critic, real, fake)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % rule.check_every and step < rule.max_steps:
            continue  # the last step is always checked, so a short refit is not discarded
        current = held_out_loss()
        if current < best_loss:
            best_loss, best_step, best = current, step, parameters_to_vector(parameters).detach()
            waited = 0
        else:
            waited += 1
            if waited >= rule.patience:
                break
    with torch.no_grad():
        vector_to_parameters(best, parameters)
    return best_step, best_loss


def platt_scaling(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[float, float]:
    """(a, b) minimising the logistic loss of a·logit + b on held-out reals and fakes (Platt
    1999), a > 0 and bounded by `MAX_LOG_SCALE`; (1, 0) leaves a calibrated logit as it is."""
    real, fake = real_logits.detach().double(), fake_logits.detach().double()
    log_scale = torch.zeros((), dtype=torch.float64, requires_grad=True)
    shift = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [log_scale, shift], max_iter=200, line_search_fn="strong_wolfe", tolerance_grad=1e-10
    )

    def loss() -> torch.Tensor:
        scale = log_scale.clamp(-MAX_LOG_SCALE, MAX_LOG_SCALE).exp()
        return F.softplus(-(scale * real + shift)).mean() + F.softplus(scale * fake + shift).mean()

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = loss()
        value.backward()
        return value

    optimizer.step(closure)
    scale = float(log_scale.detach().clamp(-MAX_LOG_SCALE, MAX_LOG_SCALE).exp())
    return scale, float(shift.detach())
