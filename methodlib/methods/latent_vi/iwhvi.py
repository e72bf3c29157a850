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

τ's parameters φ take the doubly reparameterised gradient (DReG, Tucker et al. 2019) that the
reference code uses (`tau_gradient: dreg`, its `--tau_use_dreg`, `_dreg_tau_gradients`), the
encoder and decoder the plain one. With s = softmax(β) over the log-weights β_0..β_K of
upper_K and w the KL weight, the plain gradient of the loss −log p(x | z) + w (upper_K −
log p(z)) in φ is w Σ_k s_k dβ_k/dφ, and each draw ψ_k = μ_τ + σ_τ ε_k (k ≥ 1) contributes a
path term and a score term −s_k ∂log τ(ψ_k)/∂φ whose expectation is −s_k (1 − s_k) times the
path term; DReG replaces the two by their expectation, w s_k² ∂β_k/∂ψ_k dψ_k/dφ, and keeps
w s_0 ∂β_0/∂φ of the ψ_0 that made z (not drawn from τ). `dreg_bound` builds a bound whose
value is the bound and whose backward pass gives exactly these gradients (see there).

`tau_fit` > 0 adds a second, lower-variance signal for τ, not in the paper: the negative
log-density −log τ(ψ_0 | x, z) of the pairs (ψ_0, z) the encoder draws, which are exact draws
of q(ψ | x, z) given z, so its minimiser is q(ψ | x, z) (the forward KL, which covers its mass
as an importance proposal should). The encoder is held fixed in it (its inputs are detached),
so it moves τ alone; through the bound τ learns slowly, as its gradient is the small
difference that K draws make to upper_K."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from methodlib.methods.latent_vi.base import gaussian_log_density, log_mean_exp
from methodlib.methods.latent_vi.configs import IWHVIConfig
from methodlib.methods.latent_vi.sivi import SIVI, Proposal, mixing_log_weight


class IWHVI(SIVI):
    Config = IWHVIConfig

    def net_options(self) -> dict:
        return {**super().net_options(), "reverse": True}

    def proposal(self, model: nn.Module, x: torch.Tensor, z: torch.Tensor) -> Proposal:
        return model.reverse_model(x, z)

    def training_bound(self, model: nn.Module, x: torch.Tensor, k: int, kl: float) -> torch.Tensor:
        """The bound with DReG for τ (`tau_gradient: dreg`) or the plain one, plus `tau_fit`'s
        term where it is on."""
        if torch.is_grad_enabled() and self.config.tau_gradient == "dreg":
            bound = self.dreg_bound(model, x, k, kl)
        else:
            bound = super().training_bound(model, x, k, kl)
        if self.config.tau_fit:
            with torch.no_grad():
                h, psi0, z = self.draw(model, x, 1)
            fit = gaussian_log_density(psi0, *model.reverse_model(x, z))[0]
            bound = bound + self.config.tau_fit * fit
        return bound

    def dreg_bound(self, model: nn.Module, x: torch.Tensor, k: int, kl: float) -> torch.Tensor:
        """The training bound of each image (B,) whose gradient is the plain one for every
        parameter but τ's, and DReG for τ's (the module docstring).

        τ runs twice on the same inputs: with its parameters frozen (`frozen`, through which
        the plain gradient reaches the encoder by z) and with z detached (`live`, through
        which only τ's parameters are reached), so the two have equal values. The draws are
        ψ_k = frozen draw + (live draw − its value): the same numbers, and a backward pass
        that carries the bound's gradient at ψ_k, w s_k ∂β_k/∂ψ_k, to τ once more multiplied
        by s_k (a hook), giving w s_k² times the path term; log τ(ψ_k) in β_k is the frozen
        τ's, so no score term reaches φ. β_0 reads the live τ's density, for its w s_0
        ∂β_0/∂φ."""
        h, psi0, z = self.draw(model, x, 1)
        flat = x.flatten(1)
        frozen_params = {name: p.detach() for name, p in model.reverse.named_parameters()}
        frozen = functional_call(model.reverse, frozen_params, (flat, z))
        live = model.reverse(flat, z.detach())
        noise = torch.randn((k, *z.shape[:-1], model.noise_dim), dtype=z.dtype, device=x.device)
        live_psi = live[0] + (0.5 * live[1]).exp() * noise
        nudge = live_psi - live_psi.detach()
        psi = frozen[0] + (0.5 * frozen[1]).exp() * noise + nudge
        own = tuple(f + (v - v.detach()) for f, v in zip(frozen, live, strict=True))
        first = mixing_log_weight(model, h, z, psi0, own)
        betas = torch.cat([first.unsqueeze(0), mixing_log_weight(model, h, z, psi, frozen)])
        weights = torch.softmax(betas.detach(), 0)[1:].unsqueeze(-1)
        if nudge.requires_grad:
            nudge.register_hook(lambda grad: grad * weights)
        upper = log_mean_exp(betas, 0)
        return (self.log_likelihood(model, x, z) + kl * (self.log_prior(model, z) - upper))[0]

    def bound_scores(self, model: nn.Module, x: torch.Tensor) -> dict[str, float]:
        scores = super().bound_scores(model, x)
        sivi = self.gaps(model, x[: self.config.bound_examples], proposal=False)
        return {
            **scores,
            **{f"sivi_logq_gap_k{k}": gap for k, gap in sivi.items()},
            "iwhvi10_sivi100_margin": sivi[100] - scores["logq_gap_k10"],
        }
