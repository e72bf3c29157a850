"""The VampPrior (Tomczak & Welling 2018): the prior is the encoder's mixture over learned
pseudo-inputs u_1..u_K, p(z) = (1/K) Σ_k q(z | u_k), the comparator of the semi-implicit
encoders (a richer prior instead of a richer posterior). The pseudo-inputs are images in
[0, 1] (a sigmoid of free parameters) trained with the rest by the ELBO of `GaussianVAE`."""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.latent_vi.base import mixture_log_density
from methodlib.methods.latent_vi.configs import VampPriorConfig
from methodlib.methods.latent_vi.gaussian import GaussianVAE


class VampPrior(GaussianVAE):
    Config = VampPriorConfig

    def net_options(self) -> dict:
        return {**super().net_options(), "pseudo_inputs": self.config.pseudo_inputs}

    def components(self, model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log variance) of q(z | u_k) for every pseudo-input: (K, latent) each."""
        return model.encode(model.features(model.pseudo_images()))

    def log_prior(self, model: nn.Module, z: torch.Tensor) -> torch.Tensor:
        return mixture_log_density(z, *self.components(model))

    def sample_prior(self, model: nn.Module, n: int, device: torch.device | str) -> torch.Tensor:
        mean, log_var = self.components(model)
        k = torch.randint(len(mean), (n,), device=device)
        return mean[k] + (0.5 * log_var[k]).exp() * torch.randn_like(mean[k])
