"""The Gaussian-encoder VAE (Kingma & Welling 2014) on `vae_mlp`: the baseline of the
semi-implicit encoders and of robust VI.

Training maximises the single-draw ELBO log p(x | z) + log p(z) − log q(z | x), z ~ q(z | x) =
N(μ(x), diag σ²(x)) reparameterised; the KL term is estimated by the same draw rather than in
closed form, so that the VampPrior (whose KL has none) and robust VI share this code. `test_ll`
is the IWAE bound with these same log-weights."""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.latent_vi.base import LatentVAE, gaussian_log_density
from methodlib.methods.latent_vi.configs import GaussianVAEConfig


class GaussianVAE(LatentVAE):
    Config = GaussianVAEConfig

    def log_weights(
        self, model: nn.Module, x: torch.Tensor, samples: int, kl: float = 1.0
    ) -> torch.Tensor:
        mean, log_var = model.encode(model.features(x))
        noise = torch.randn(samples, *mean.shape, device=x.device)
        z = mean + (0.5 * log_var).exp() * noise
        log_q = gaussian_log_density(z, mean, log_var)
        return self.log_likelihood(model, x, z) + kl * (self.log_prior(model, z) - log_q)

    def bound(self, model: nn.Module, x: torch.Tensor, kl: float = 1.0) -> torch.Tensor:
        return self.log_weights(model, x, 1, kl)[0]
