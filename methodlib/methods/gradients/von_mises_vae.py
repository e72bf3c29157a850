"""A VAE with a latent on the torus (Figurnov, Mohamed & Mnih 2018, Section 6, whose VAEs on
MNIST use a von Mises posterior with a uniform prior on the torus against the Normal one):
implicit reparameterisation gradients against the score-function estimator.

z = (z_1, …, z_d), d = `latent_dim` angles, independent under q and p: q(z_j | x) =
von Mises(μ_j(x), κ_j(x)), p(z_j) uniform on the circle, KL(q ‖ p) = Σ_j κ_j I₁(κ_j)/I₀(κ_j) −
log I₀(κ_j) in closed form (`vmf_uniform_kl` with m = 2). `vae_mlp` is built with 2d latent
units: the encoder's mean head gives a point of the plane per angle, μ_j its direction (as the
vMF VAE normalises its mean), the first d log-variance outputs give κ_j = softplus(·) +
`min_concentration`; the decoder reads the embedding (cos z, sin z), so p(x | z) is periodic.

`gradient`: `implicit` (z = `von_mises_rsample(μ, κ)`, dz/dκ = −(∂F/∂κ)/p(z) of the von Mises
CDF, `gradients/implicit.py`; dz/dμ = 1) or `score_function` (REINFORCE on log q(z | x) with the
moving-average baseline of `EstimatorVAE`)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import VonMises

from methodlib.methods.gradients.estimator_vae import EstimatorVAE
from methodlib.methods.gradients.implicit import von_mises_rsample
from methodlib.methods.gradients.vae_configs import VonMisesVAEConfig
from methodlib.methods.gradients.vmf_vae import vmf_uniform_kl


def embed(z: torch.Tensor) -> torch.Tensor:
    """Angles (…, d) as points of the torus in R^{2d}: (cos z, sin z)."""
    return torch.cat([torch.cos(z), torch.sin(z)], -1)


class VonMisesVAE(EstimatorVAE):
    Config = VonMisesVAEConfig

    def net_options(self) -> dict:
        return {**super().net_options(), "latent_dim": 2 * self.config.latent_dim}

    def posterior(self, model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ (B, d) in (−π, π], κ (B, d))."""
        mean, log_var = model.encode(model.features(x))
        d = self.config.latent_dim
        loc = torch.atan2(mean[..., d:], mean[..., :d])
        return loc, F.softplus(log_var[..., :d]) + self.config.min_concentration

    def log_likelihood(self, model: nn.Module, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return super().log_likelihood(model, x, embed(z))

    def log_prior(self, model: nn.Module, z: torch.Tensor) -> torch.Tensor:
        return torch.full(z.shape[:-1], -z.shape[-1] * math.log(2 * math.pi), device=z.device)

    def sample_prior(self, model: nn.Module, n: int, device: torch.device | str) -> torch.Tensor:
        return (torch.rand(n, self.config.latent_dim, device=device) * 2 - 1) * math.pi

    @torch.no_grad()
    def generate(self, model: nn.Module, n: int, device: torch.device | str) -> torch.Tensor:
        return self.into_domain(model.generator(embed(self.sample_prior(model, n, device))))

    def draw(self, params: tuple[torch.Tensor, torch.Tensor], samples: int) -> torch.Tensor:
        loc, kappa = params
        return VonMises(loc.detach(), kappa.detach()).sample((samples,))

    def log_posterior(
        self, z: torch.Tensor, params: tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        return VonMises(*params).log_prob(z).sum(-1)

    def kl(self, model: nn.Module, params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return vmf_uniform_kl(params[1], 2).sum(-1)

    def expected_log_likelihood(
        self, model: nn.Module, x: torch.Tensor, params: tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        if self.config.gradient == "implicit":
            return self.log_likelihood(model, x, von_mises_rsample(*params))
        return self.score_function_draw(model, x, params)
