"""VAEAC, the variational autoencoder with arbitrary conditioning (Ivanov, Figurnov & Vetrov,
ICLR 2019; reference code tigvarts/vaeac): one model of p(x_b | x_{1−b}, b) for every mask b
(b = 1: hidden).

Three networks on the flattened data x (D entries) and the mask b:
- the proposal q(z | x, b) = N(μ_q, σ_q²), from [x, b] (training only: it sees everything);
- the prior p(z | x_{1−b}, b) = N(μ_p, σ_p²), from [x ⊙ (1 − b), b] (hidden entries zeroed);
- the generator p(x_b | z, x_{1−b}, b): a Gaussian per entry from [z, x ⊙ (1 − b), b] (the
  observed part reaches it directly, where the reference passes it through skip connections
  from the prior network).

Per example, the objective is the lower bound
    E_q[log p(x_b | z, x_{1−b}, b)] − KL(q ‖ p) + R(μ_p, σ_p),
one reparameterised draw z ~ q, the likelihood summed over hidden entries only, the KL in
closed form, and R the reference's prior regulariser: a N(0, σ_μ²) prior on the prior's means
and a weak Gamma-like σ_σ·Σ(log σ_p − σ_p) on its scales (σ_μ = 10⁴, σ_σ = 10⁻⁴: it only keeps
the prior from drifting off where the proposal cannot follow). The loss is the negative bound
divided by D, as the reference scales it. Training masks are drawn per batch
(`masks.train_mask`). Imputations: z ~ p(z | x_{1−b}, b), then the generator's mean."""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import kl_divergence

from methodlib.methods.imputation.base import NeuralImputer, latent_normal, observed_part
from methodlib.methods.imputation.configs import VAEACConfig
from methodlib.models.imputation_mlp import MLPSize, ResidualMLP


class VAEACNets(nn.Module):
    def __init__(self, dim: int, size: MLPSize):
        super().__init__()
        self.proposal = ResidualMLP(2 * dim, 2 * size.latent, size)
        self.prior = ResidualMLP(2 * dim, 2 * size.latent, size)
        self.generator = ResidualMLP(size.latent + 2 * dim, 2 * dim, size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The imputation path with nothing hidden: the generator's mean at the prior's mean."""
        flat = x.flatten(1)
        context = torch.cat([flat, torch.zeros_like(flat)], dim=1)
        mu = self.prior(context).chunk(2, dim=1)[0]
        return self.generator(torch.cat([mu, context], dim=1)).chunk(2, dim=1)[0].view_as(x)


class VAEAC(NeuralImputer):
    Config = VAEACConfig

    def build_model(self) -> nn.Module:
        return VAEACNets(self.dim, self.size)

    def terms(
        self, model: nn.Module, x: torch.Tensor, missing: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The bound's three terms per example: `rec` (log-likelihood of the hidden entries at
        one draw z ~ q), `kl` (KL(q ‖ p)) and `reg` (the prior regulariser)."""
        flat, b = x.flatten(1), missing.flatten(1).to(x.dtype)
        context = torch.cat([observed_part(flat, b.bool()), b], dim=1)
        proposal = latent_normal(model.proposal(torch.cat([flat, b], dim=1)))
        prior = latent_normal(model.prior(context))
        z = proposal.rsample()
        likelihood = self.gaussian(model.generator(torch.cat([z, context], dim=1)))
        rec = (likelihood.log_prob(flat) * b).sum(1)
        kl = kl_divergence(proposal, prior).sum(1)
        reg = -prior.loc.pow(2).sum(1) / (2 * self.config.sigma_mu**2) + self.config.sigma_sigma * (
            prior.scale.log() - prior.scale
        ).sum(1)
        return {"rec": rec, "kl": kl, "reg": reg}

    def losses(self, model: nn.Module, x: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
        t = self.terms(model, x, missing)
        return -(t["rec"] - t["kl"] + t["reg"]) / self.dim

    @torch.no_grad()
    def impute(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        b = torch.isnan(flat)
        context = torch.cat([observed_part(flat, b), b.to(flat.dtype)], dim=1)
        prior = latent_normal(model.prior(context))
        samples = [
            self.gaussian(model.generator(torch.cat([prior.sample(), context], dim=1))).mean
            for _ in range(self.config.imputations)
        ]
        return torch.stack(samples).view(len(samples), *x.shape)
