"""The plain VAE a user would try first for imputation: hidden entries filled with zeros (the
training mean, in standardised units) and passed through a VAE of the whole vector.

Trained under the same masks as VAEAC (`masks.train_mask`), so it learns to undo zero-filling:
encoder q(z | x ⊙ (1 − b)) = N(μ, σ²), decoder p(x | z) a Gaussian per entry over every entry,
prior N(0, I). Unlike VAEAC it is not told which zeros are hidden (no mask input) and its prior
does not depend on the observed part. Per example, the loss is the negative ELBO
−E_q[log p(x | z)] + KL(q ‖ N(0, I)) (one reparameterised draw, KL in closed form) divided by D.
Imputations: z ~ q(z | zero-filled x), then the decoder's mean."""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.imputation.base import NeuralImputer, latent_normal, observed_part
from methodlib.methods.imputation.configs import ZeroFillVAEConfig
from methodlib.models.imputation_mlp import MLPSize, ResidualMLP


class ZeroFillVAENets(nn.Module):
    def __init__(self, dim: int, size: MLPSize):
        super().__init__()
        self.encoder = ResidualMLP(dim, 2 * size.latent, size)
        self.decoder = ResidualMLP(size.latent, 2 * dim, size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder's mean at the encoder's mean."""
        mu = self.encoder(x.flatten(1)).chunk(2, dim=1)[0]
        return self.decoder(mu).chunk(2, dim=1)[0].view_as(x)


class ZeroFillVAE(NeuralImputer):
    Config = ZeroFillVAEConfig

    def build_model(self) -> nn.Module:
        return ZeroFillVAENets(self.dim, self.size)

    def losses(self, model: nn.Module, x: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        posterior = latent_normal(model.encoder(observed_part(flat, missing.flatten(1))))
        z = posterior.rsample()
        rec = self.gaussian(model.decoder(z)).log_prob(flat).sum(1)
        mu, sigma = posterior.loc, posterior.scale
        kl = 0.5 * (mu.pow(2) + sigma.pow(2) - 1.0 - 2 * sigma.log()).sum(1)
        return -(rec - kl) / self.dim

    @torch.no_grad()
    def impute(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        posterior = latent_normal(model.encoder(observed_part(flat, torch.isnan(flat))))
        samples = [
            self.gaussian(model.decoder(posterior.sample())).mean
            for _ in range(self.config.imputations)
        ]
        return torch.stack(samples).view(len(samples), *x.shape)
