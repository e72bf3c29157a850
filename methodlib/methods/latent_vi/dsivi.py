"""Doubly semi-implicit VI (Molchanov, Kharitonov, Sobolev & Vetrov 2019, "DSIVI"): the
semi-implicit VampPrior, on SIVI's semi-implicit encoder (`dsivi`) or on the Gaussian encoder
of `gaussian_vae` and `vampprior` (`si_vampprior`), so that against the VampPrior it differs
in the prior alone.

The VampPrior (`vampprior.py`) mixes the encoder over a fixed set of learned pseudo-inputs;
DSIVI's modification draws the pseudo-inputs from an implicit distribution instead, u = g(ζ)
with ζ ~ N(0, I) and g a small generator network, so the prior is the infinite mixture

    p(z) = ∫ q(z | u = g(ζ), ψ) N(ζ; 0, I) N(ψ; 0, I) dζ dψ

(on a semi-implicit encoder its noise ψ joins ζ as the prior's mixing variable; on the
Gaussian one the mixing variable is ζ alone). Its density is as intractable as q's. With K
draws ρ_k of the mixing variable, lower_K = log (1/K) Σ_k p(z | ρ_k) is a lower bound on
log p(z) in expectation (Jensen; its exponent is an unbiased estimate of p(z)), and with the
draw ρ_0 that made z counted in, as in SIVI, upper_K = log (1/(K+1)) Σ_{k=0..K} p(z | ρ_k) is
an upper bound.

Training maximises DSIVI's lower bound on the ELBO, log p(x | z) + lower_K log p(z) −
log q̂(z | x) with z ~ q(z | x) (log q̂ = upper_K of SIVI on the semi-implicit encoder, the
exact density on the Gaussian one): each density is bounded the way that keeps the whole below
the ELBO. The K = `prior_k` prior draws are shared by the batch (each image's estimate stays
unbiased), so they cost K passes of the encoder, not K × B. `test_ll` is the
importance-sampled bound of `LatentVAE` with lower_K of the prior (K = `prior_eval_k`, whose
exponent is unbiased). The prior's sandwich is reported on `bound_examples` draws z ~ p(z),
each with the ρ_0 that made it: `prior_gap_k{K}` is the mean upper_K − lower_K at K = 1, 10,
100, and `prior_gap_drop_*` its falls.
"""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.base import DataInfo
from methodlib.methods.latent_vi.base import gaussian_log_density, mixture_log_density
from methodlib.methods.latent_vi.configs import BOUND_KS, DSIVIConfig, SIVampPriorConfig
from methodlib.methods.latent_vi.gaussian import GaussianVAE
from methodlib.methods.latent_vi.sivi import SIVI, gap_metrics, sandwich


class SemiImplicitPrior:
    """The semi-implicit VampPrior, mixed into a `LatentVAE` whose config has the fields of
    `SemiImplicitPriorFields`: it replaces the prior, its sampling and the test scores, and
    leaves the encoder and its bound on log q to the class it is mixed into."""

    def __init__(self, config, model_name: str, info: DataInfo) -> None:
        super().__init__(config, model_name, info)
        self.prior_draws = config.prior_k

    def net_options(self) -> dict:
        return {**super().net_options(), "prior_noise": self.config.prior_noise}

    def prior_components(
        self, model: nn.Module, n: int, device: torch.device | str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`n` draws ρ = (ζ, ψ) of the prior's mixing variable (ζ alone on a Gaussian encoder),
        as the (mean, log variance) of p(z | ρ) = q(z | g(ζ), ψ): (n, latent) each."""
        zeta = torch.randn(n, model.prior_noise, device=device)
        psi = torch.randn(n, model.noise_dim, device=device) if model.noise_dim else None
        return model.encode(model.features(model.generated_pseudo_images(zeta)), psi)

    def log_prior(self, model: nn.Module, z: torch.Tensor) -> torch.Tensor:
        """lower_K of log p(z) with K = `prior_draws` draws shared by all of `z`."""
        return mixture_log_density(z, *self.prior_components(model, self.prior_draws, z.device))

    def sample_prior(self, model: nn.Module, n: int, device: torch.device | str) -> torch.Tensor:
        mean, log_var = self.prior_components(model, n, device)
        return mean + (0.5 * log_var).exp() * torch.randn_like(mean)

    def prior_gaps(self, model: nn.Module, n: int, device: torch.device | str) -> dict[int, float]:
        """Mean upper_K − lower_K of log p(z) over `n` draws z ~ p(z), at each K of
        `BOUND_KS`, the further K draws of ρ shared by the n points."""
        torch.manual_seed(0)
        mean, log_var = self.prior_components(model, n, device)
        z = mean + (0.5 * log_var).exp() * torch.randn_like(mean)
        first = gaussian_log_density(z, mean, log_var)
        out = {}
        for k in BOUND_KS:
            drawn_mean, drawn_log_var = self.prior_components(model, k, device)
            drawn = gaussian_log_density(z, drawn_mean.unsqueeze(1), drawn_log_var.unsqueeze(1))
            upper, lower = sandwich(first, drawn)
            out[k] = (upper - lower).mean().item()
        return out

    @torch.no_grad()
    def score_test(self, model: nn.Module, x_test: torch.Tensor, batch_size: int) -> None:
        self.prior_draws = self.config.prior_eval_k
        try:
            super().score_test(model, x_test, batch_size)
        finally:
            self.prior_draws = self.config.prior_k

    def bound_scores(self, model: nn.Module, x: torch.Tensor) -> dict[str, float]:
        gaps = self.prior_gaps(model, self.config.bound_examples, x.device)
        return {**super().bound_scores(model, x), **gap_metrics("prior", gaps)}


class DSIVI(SemiImplicitPrior, SIVI):
    """SIVI's semi-implicit encoder with the semi-implicit VampPrior."""

    Config = DSIVIConfig


class SIVampPrior(SemiImplicitPrior, GaussianVAE):
    """The Gaussian encoder of `gaussian_vae` and `vampprior` with the semi-implicit
    VampPrior: the VampPrior's arm with its prior alone changed."""

    Config = SIVampPriorConfig
