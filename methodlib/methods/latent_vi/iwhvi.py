"""Importance weighted hierarchical VI (Sobolev & Vetrov 2019; artsobolev/IWHVI): SIVI's
bounds on log q(z | x) with ψ_1..ψ_K drawn from a learned reverse model τ(ψ | x, z), a
Gaussian whose mean and variance a small network reads from the encoder's features and z.

The closer τ is to the true posterior q(ψ | x, z), the tighter both bounds at a given K (with
τ equal to it they are exact at K = 1); τ is trained by the same objective as the VAE: the
training bound log p(x, z) − upper_K rises as upper_K falls, and upper_K falls as τ
approaches q(ψ | x, z). Beyond SIVI's metrics a run reports SIVI's gap on the same model and
draws (`sivi_logq_gap_k{K}`, τ replaced by q(ψ)) and `iwhvi10_sivi100_margin`, SIVI's gap at
K = 100 minus IWHVI's at K = 10: at least 0 when IWHVI with 10 draws is as tight as SIVI with
100.

`tau_fit` > 0 adds a second, lower-variance signal for τ, not in the paper: the negative
log-density −log τ(ψ_0 | x, z) of the pairs (ψ_0, z) the encoder draws, which are exact draws
of q(ψ | x, z) given z, so its minimiser is q(ψ | x, z) (the forward KL, which covers its mass
as an importance proposal should). The encoder is held fixed in it (its inputs are detached),
so it moves τ alone; through the bound τ learns slowly, as its gradient is the small
difference that K draws make to upper_K."""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.latent_vi.base import binarise, gaussian_log_density
from methodlib.methods.latent_vi.configs import IWHVIConfig
from methodlib.methods.latent_vi.sivi import SIVI, Proposal


class IWHVI(SIVI):
    Config = IWHVIConfig

    def net_options(self) -> dict:
        return {**super().net_options(), "reverse": True}

    def proposal(self, model: nn.Module, h: torch.Tensor, z: torch.Tensor) -> Proposal:
        return model.reverse_model(h, z)

    def losses(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        x = binarise(x)
        loss = -self.bound(model, x)
        if self.config.tau_fit:
            with torch.no_grad():
                h, psi0, z, _ = self.draw(model, x, 1)
            fit = gaussian_log_density(psi0, *model.reverse_model(h, z))[0]
            loss = loss - self.config.tau_fit * fit
        return loss

    def bound_scores(self, model: nn.Module, x: torch.Tensor) -> dict[str, float]:
        scores = super().bound_scores(model, x)
        sivi = self.gaps(model, x[: self.config.bound_examples], proposal=False)
        return {
            **scores,
            **{f"sivi_logq_gap_k{k}": gap for k, gap in sivi.items()},
            "iwhvi10_sivi100_margin": sivi[100] - scores["logq_gap_k10"],
        }
