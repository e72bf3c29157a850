"""The Metropolis–Hastings arithmetic both samplers share, and their common `Method` base.

An independent proposal q for a target p accepts a move x → x' with probability
min{1, ξ}, ξ = p(x') q(x) / (p(x) q(x')) = w(x') / w(x), where w = p/q is the importance
weight: with an explicit target, log w = log p̃ − log q (p̃ unnormalised: the constant
cancels in ξ); with a target given by samples, log w is the logit of a discriminator trained
to tell p's samples from q's (its optimum is log p/q). The acceptance rate of the chain at
stationarity is AR = E_{x~p, x'~q} min{1, ξ}; Neklyudov et al. (2018) learn q by maximising
a lower bound on it:

- Jensen: log AR ≥ E log min{1, ξ} = E min{0, log w(x') − log w(x)} (`log_min_bound`);
- Pinsker: AR = 1 − TV(p(x) q(x'), p(x') q(x)) ≥ 1 − √(KL/2), where for an independent
  proposal the KL is KL(p‖q) + KL(q‖p) (`pinsker_bound`).

The expectation over x ~ p needs samples of the target: its data for the GAN, the states of
the MH chains that the proposal itself drives for an explicit target.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from methodlib.methods.generative_base import GenerativeMethod, fixed_rng

Weighted = tuple[torch.Tensor, torch.Tensor]
"""Samples (n, ...) and their log importance weights log w (n,)."""


def log_min_bound(log_ratio: torch.Tensor) -> torch.Tensor:
    """E log min{1, ξ} from draws of log ξ: a lower bound on log AR (Jensen)."""
    return log_ratio.clamp(max=0.0).mean()


def acceptance_rate(log_ratio: torch.Tensor) -> torch.Tensor:
    """E min{1, ξ} from draws of log ξ: the acceptance rate itself (Monte Carlo)."""
    return log_ratio.clamp(max=0.0).exp().mean()


def pinsker_bound(sym_kl: float) -> float:
    """1 − √(sym KL / 2), floored at 0: the acceptance rate's lower bound through Pinsker's
    inequality, sym KL = KL(p‖q) + KL(q‖p) for an independent proposal."""
    return max(0.0, 1.0 - math.sqrt(sym_kl / 2.0))


def mh_step(current: Weighted, proposed: Weighted) -> tuple[Weighted, torch.Tensor]:
    """One independent MH step for every chain: move to the proposal with probability
    min{1, w(x')/w(x)}; returns the new states and which chains moved."""
    (x, log_w), (x_new, log_w_new) = current, proposed
    accept = torch.rand_like(log_w).log() < log_w_new - log_w
    mask = accept.view(-1, *[1] * (x.ndim - 1))
    return (torch.where(mask, x_new, x), torch.where(accept, log_w_new, log_w)), accept


def run_chains(
    propose: Callable[[int], Weighted], n: int, steps: int
) -> tuple[torch.Tensor, float]:
    """`n` independent MH chains started at a proposal draw, after `steps` steps: their states
    and the fraction of moves accepted (nan without steps)."""
    state = propose(n)
    accepted = 0
    for _ in range(steps):
        state, accept = mh_step(state, propose(n))
        accepted += int(accept.sum())
    return state[0], accepted / (n * steps) if steps else math.nan


class MHMethod(GenerativeMethod):
    """A sampler whose final samples are independent-MH chains over its proposal: `weighted`
    draws proposals with their log w, `log_weight` weighs any x. The per-epoch validation
    reads the bound and the acceptance rate with the validation split as x ~ p; their history
    gives the run's `acceptance_first`, `acceptance_last` and `acceptance_gain`."""

    def __init__(self, config, model_name, info):
        super().__init__(config, model_name, info)
        self.history: list[float] = []

    def log_weight(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def weighted(self, model: nn.Module, n: int) -> Weighted:
        """`n` proposal draws and their log w."""
        raise NotImplementedError

    def log_ratios(self, model: nn.Module, x_p: torch.Tensor) -> torch.Tensor:
        """log ξ = log w(x') − log w(x) for x the rows of `x_p` (from p), x' ~ q."""
        _, log_w_q = self.weighted(model, len(x_p))
        return log_w_q - self.log_weight(model, x_p)

    @torch.no_grad()
    def validation_metrics(
        self, model: nn.Module, x_val: torch.Tensor, batch_size: int = 1000
    ) -> dict[str, float]:
        """`val_loss` = −E log min{1, ξ} (the negated bound) and `acceptance` = E min{1, ξ},
        with the validation split as x ~ p and a fixed draw of proposals."""
        with fixed_rng(x_val.device):
            log_ratio = torch.cat(
                [
                    self.log_ratios(model, x_val[i : i + batch_size])
                    for i in range(0, len(x_val), batch_size)
                ]
            )
        acceptance = float(acceptance_rate(log_ratio))
        self.history.append(acceptance)
        return {"val_loss": -float(log_min_bound(log_ratio)), "acceptance": acceptance}

    @torch.no_grad()
    def chain_samples(self, model: nn.Module, n: int) -> torch.Tensor:
        return run_chains(lambda k: self.weighted(model, k), n, self.config.mh_steps)[0]

    @torch.no_grad()
    def generate(self, model: nn.Module, n: int, device: torch.device | str) -> torch.Tensor:
        return self.into_domain(self.chain_samples(model, n))

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        metrics = super().run_metrics(model)
        if self.history:
            first, last = self.history[0], self.history[-1]
            metrics |= {
                "acceptance_first": first,
                "acceptance_last": last,
                "acceptance_gain": last - first,
            }
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {"history": torch.tensor(self.history, dtype=torch.float64)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = state["history"].tolist()
