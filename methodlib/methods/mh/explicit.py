"""`mh_explicit`: learning an independent MH proposal for a target known up to a constant by
maximising the lower bound on the acceptance rate (Neklyudov et al. 2018, section 3).

The proposal q is a RealNVP flow (`realnvp`), so both log q(x') of its draws
(reparameterised, for the gradient) and log q(x) of any point are exact. The bound needs
x ~ p, which an explicit target does not give: `chains` MH chains driven by q itself stand in
(each step advances them once before the bound is taken on their states), which is the
paper's scheme; as q improves the chains mix faster. The training data are not used: each
batch is only a step. The validation split, exact draws of the target, scores the bound and
the acceptance rate every epoch; the saved samples are MH chains after `mh_steps` steps, and
their first two moments are checked against the target's closed-form ones
(`mean_error`, `cov_error`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from methodlib.data.densities import density
from methodlib.errors import RunError
from methodlib.methods.base import DataInfo, StepContext
from methodlib.methods.mh.acceptance import MHMethod, Weighted, log_min_bound, mh_step
from methodlib.methods.mh.configs import MHExplicitConfig


class MHExplicit(MHMethod):
    Config = MHExplicitConfig

    def __init__(self, config: MHExplicitConfig, model_name: str, info: DataInfo):
        super().__init__(config, model_name, info)
        if info.density is None:
            raise RunError(
                "mh_explicit needs a target whose density is known in closed form: a "
                "`synthetic` dataset of kind ring, banana or mixture2d"
            )
        self.target = density(**info.density)
        self.chain: Weighted | None = None

    def log_weight(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """log p̃(x) − log q(x)."""
        return self.target.log_prob(x.flatten(1)) - model.log_prob(x)

    def weighted(self, model: nn.Module, n: int) -> Weighted:
        x, log_q = model.sample(n)
        return x.view(n, *self.info.input_shape), self.target.log_prob(x) - log_q

    def bound_loss(self, model: nn.Module, x_p: torch.Tensor) -> torch.Tensor:
        """The negated bound with x ~ p the rows of `x_p`; gradients reach q through its
        reparameterised draws x' and through log q(x)."""
        if self.config.bound == "symmetric_kl":  # KL(q‖p̃) + KL(p‖q), up to constants
            x_q, log_q = model.sample(len(x_p))
            return (log_q - self.target.log_prob(x_q)).mean() - model.log_prob(x_p).mean()
        return -log_min_bound(self.log_ratios(model, x_p))

    @torch.no_grad()
    def advance_chains(self, model: nn.Module) -> torch.Tensor:
        """One MH step of every chain (started at proposal draws); their new states."""
        if self.chain is None:
            self.chain = self.weighted(model, self.config.chains)
        else:  # q has changed since the last step: reweigh the states under it
            self.chain = (self.chain[0], self.log_weight(model, self.chain[0]))
        self.chain, _ = mh_step(self.chain, self.weighted(model, self.config.chains))
        return self.chain[0]

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        return self.bound_loss(model, self.advance_chains(model))

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        """Distance of the MH samples' mean (Euclidean) and covariance (Frobenius, relative
        to the target's) from the target's closed-form moments."""
        x = self.chain_samples(model, self.config.moment_samples).flatten(1).double().cpu()
        x = x.numpy()
        cov = self.target.cov()
        cov_error = np.linalg.norm(np.cov(x, rowvar=False) - cov) / np.linalg.norm(cov)
        return {
            **super().run_metrics(model),
            "mean_error": float(np.linalg.norm(x.mean(axis=0) - self.target.mean())),
            "cov_error": float(cov_error),
        }

    def state_dict(self) -> dict[str, Any]:
        chain = {} if self.chain is None else {"chain": self.chain[0]}
        return {**super().state_dict(), **chain}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.chain = (
            (state["chain"], torch.zeros(len(state["chain"]))) if "chain" in state else None
        )
