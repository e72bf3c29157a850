"""Semi-implicit variational inference (Yin & Zhou 2018) in a VAE, with the sandwich of
Molchanov, Kharitonov, Sobolev & Vetrov (2019, "Doubly semi-implicit VI") on log q.

The encoder is a mixture q(z | x) = ∫ q(z | x, ψ) q(ψ) dψ, ψ ~ N(0, I) fed to every layer of
the encoder and to its variance (`LatentVAENets`): implicit in its marginal, whose log-density
the ELBO needs. For z drawn with ψ_0, and ψ_1..ψ_K drawn from a proposal τ(ψ | x, z), with
weights ω_k = q(z | x, ψ_k) q(ψ_k) / τ(ψ_k | x, z):

    upper_K = log (1/(K+1)) Σ_{k=0..K} ω_k,   E upper_K ≥ log q(z | x)
    lower_K = log (1/K)     Σ_{k=1..K} ω_k,   E lower_K ≤ log q(z | x)

(the upper bound counts the ψ_0 that made z; the lower one is plain importance sampling and
Jensen). Both approach log q(z | x) as K grows and the gap between them shrinks; at K = 0
upper_0 = log ω_0 is the HVM bound (Ranganath et al. 2016). SIVI takes τ = q(ψ), so ω_k =
q(z | x, ψ_k); IWHVI (`iwhvi.py`) learns τ. Training maximises log p(x | z) + w (log p(z) −
upper_K), a lower bound on the ELBO at w = 1, which DSIVI's lower_K completes into a bound for
semi-implicit priors; K follows `k_schedule` over the epochs (the reference starts at K = 0
and raises it) and w the KL warm-up (`kl_warmup`). The validation loss takes w = 1 and
K = `k`, so that its epochs compare. `test_ll` takes upper_K with K = `eval_k` inside the
IWAE sum; `logq_gap_k{K}` is the mean of upper_K − lower_K on the first `bound_examples` test
images, at one draw of z per image and K = 1, 10, 100.
"""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.base import StepContext
from methodlib.methods.latent_vi.base import (
    LatentVAE,
    gaussian_log_density,
    log_mean_exp,
    standard_log_density,
)
from methodlib.methods.latent_vi.configs import BOUND_KS, SIVIConfig

Proposal = tuple[torch.Tensor, torch.Tensor] | None
"""τ(ψ | x, z) as (mean, log variance), or None for the mixing distribution q(ψ) = N(0, I)."""


def mixing_log_weight(
    model: nn.Module, h: torch.Tensor, z: torch.Tensor, psi: torch.Tensor, proposal: Proposal
) -> torch.Tensor:
    """log ω = log q(z | x, ψ) + log q(ψ) − log τ(ψ | x, z) of draws `psi` (..., B, noise)
    at z (..., B, latent); with no proposal (τ = q(ψ)) the last two cancel."""
    out = gaussian_log_density(z, *model.encode(h, psi))
    if proposal is not None:
        out = out + standard_log_density(psi) - gaussian_log_density(psi, *proposal)
    return out


def log_q_bounds(
    model: nn.Module,
    h: torch.Tensor,
    z: torch.Tensor,
    psi0: torch.Tensor,
    k: int,
    proposal: Proposal,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(upper_K, lower_K) of log q(z | x) (see the module docstring) for z (..., B, latent)
    drawn with ψ_0 = `psi0`; `h` the encoder's features of x."""
    noise = torch.randn((k, *z.shape[:-1], model.noise_dim), dtype=z.dtype, device=z.device)
    if proposal is None:
        psi = noise
    else:
        tau_mean, tau_log_var = proposal
        psi = tau_mean + (0.5 * tau_log_var).exp() * noise
    first = mixing_log_weight(model, h, z, psi0, proposal)
    return sandwich(first, mixing_log_weight(model, h, z, psi, proposal))


def gap_metrics(prefix: str, gaps: dict[int, float]) -> dict[str, float]:
    """A sandwich's gaps at each K of `BOUND_KS` as run metrics: `<prefix>_gap_k<K>` and the
    drops from K = 1 to 10 and from 10 to 100 (`<prefix>_gap_drop_1_10`, `..._10_100`), which
    the claims that the bounds close in test."""
    return {
        **{f"{prefix}_gap_k{k}": gap for k, gap in gaps.items()},
        f"{prefix}_gap_drop_1_10": gaps[1] - gaps[10],
        f"{prefix}_gap_drop_10_100": gaps[10] - gaps[100],
    }


def sandwich(first: torch.Tensor, drawn: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(upper_K, lower_K) of a semi-implicit log-density from the log-weight `first` (...) of
    the mixing draw that made the point and those of K further draws `drawn` (K, ...)."""
    upper = log_mean_exp(torch.cat([first.unsqueeze(0), drawn]), 0)
    if not len(drawn):  # K = 0: the HVM bound above, and no lower bound
        return upper, torch.full_like(upper, -torch.inf)
    return upper, log_mean_exp(drawn, 0)


class SIVI(LatentVAE):
    Config = SIVIConfig

    def net_options(self) -> dict:
        return {**super().net_options(), "noise_dim": self.config.noise_dim}

    def proposal(self, model: nn.Module, x: torch.Tensor, z: torch.Tensor) -> Proposal:
        """SIVI draws ψ_1..ψ_K from q(ψ) itself."""
        return None

    def draw(self, model: nn.Module, x: torch.Tensor, samples: int):
        """`samples` draws z ~ q(z | x) with the ψ_0 that made them: (h, ψ_0, z)."""
        h = model.features(x)
        psi0 = torch.randn(samples, len(x), model.noise_dim, dtype=h.dtype, device=x.device)
        mean, log_var = model.encode(h, psi0)
        z = mean + (0.5 * log_var).exp() * torch.randn_like(mean)
        return h, psi0, z

    def log_weights(
        self,
        model: nn.Module,
        x: torch.Tensor,
        samples: int,
        k: int | None = None,
        kl: float = 1.0,
    ) -> torch.Tensor:
        h, psi0, z = self.draw(model, x, samples)
        k = self.config.eval_k if k is None else k
        upper, _ = log_q_bounds(model, h, z, psi0, k, self.proposal(model, x, z))
        return self.log_likelihood(model, x, z) + kl * (self.log_prior(model, z) - upper)

    def bound(self, model: nn.Module, x: torch.Tensor, kl: float = 1.0) -> torch.Tensor:
        return self.training_bound(model, x, self.config.k, kl)

    def training_bound(self, model: nn.Module, x: torch.Tensor, k: int, kl: float) -> torch.Tensor:
        """The bound of each image with K = `k` draws of ψ and KL weight `kl` (B,)."""
        return self.log_weights(model, x, 1, k, kl)[0]

    def scheduled_bound(self, model: nn.Module, x: torch.Tensor, ctx: StepContext) -> torch.Tensor:
        return self.training_bound(model, x, self.config.k_at(ctx.epoch), self.kl_weight(ctx))

    def gaps(self, model: nn.Module, x: torch.Tensor, proposal: bool = True) -> dict[int, float]:
        """Mean upper_K − lower_K over `x` at each K of `BOUND_KS`, with the method's proposal
        or (`proposal=False`) with q(ψ), SIVI's, on the same draws of z."""
        torch.manual_seed(0)
        h, psi0, z = self.draw(model, x, 1)
        tau = self.proposal(model, x, z) if proposal else None
        out = {}
        for k in BOUND_KS:
            upper, lower = log_q_bounds(model, h, z, psi0, k, tau)
            out[k] = (upper - lower).mean().item()
        return out

    def bound_scores(self, model: nn.Module, x: torch.Tensor) -> dict[str, float]:
        return gap_metrics("logq", self.gaps(model, x[: self.config.bound_examples]))
