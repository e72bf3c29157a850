"""The small fully connected networks of the latent-variable VAEs (`methods/latent_vi/`): an
encoder q(z | x), optionally semi-implicit (its mean also reads a noise ψ ~ N(0, I)), a
Bernoulli decoder p(x | z), and the optional parts some methods ask for: IWHVI's reverse model
τ(ψ | x, z), the VampPrior's pseudo-inputs and DSIVI's generator of pseudo-inputs.

The x-dependent trunk h(x) is computed once per example; only the small heads see ψ, so the
K + 1 evaluations of q(z | x, ψ_k) that the semi-implicit bounds need cost K small matrix
products, not K passes of the encoder."""

from __future__ import annotations

import math

import torch
from torch import nn

from methodlib.models.layers import Layers


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class LatentVAENets(nn.Module):
    """Encoder, decoder and the optional reverse model and pseudo-inputs.

    `encode(h, psi)` gives the Gaussian q(z | x, ψ) as (mean, log variance); its variance
    depends on x alone (as in SIVI, Yin & Zhou 2018), its mean on x and ψ. With
    `noise_dim = 0` the encoder is the usual Gaussian one."""

    def __init__(
        self,
        input_shape: tuple[int, ...],
        n_classes: int,
        layers: Layers | None = None,
        latent_dim: int = 8,
        hidden: int = 200,
        noise_dim: int = 0,
        reverse: bool = False,
        pseudo_inputs: int = 0,
        prior_noise: int = 0,
        max_log_var: float = 10.0,
    ):
        super().__init__()
        self.input_shape = tuple(input_shape)
        d = math.prod(input_shape)
        self.latent_dim, self.noise_dim, self.max_log_var = latent_dim, noise_dim, max_log_var
        self.trunk = nn.Sequential(_mlp([d, hidden, hidden]), nn.ReLU())
        small = max(hidden // 2, 1)
        self.mean_head = (
            _mlp([hidden + noise_dim, small, latent_dim])
            if noise_dim
            else nn.Linear(hidden, latent_dim)
        )
        self.log_var_head = nn.Linear(hidden, latent_dim)
        self.decoder = _mlp([latent_dim, hidden, hidden, d])
        self.reverse = _mlp([hidden + latent_dim, small, 2 * noise_dim]) if reverse else None
        self.pseudo = nn.Parameter(torch.randn(pseudo_inputs, d) * 0.1) if pseudo_inputs else None
        self.prior_noise = prior_noise
        self.prior_generator = _mlp([prior_noise, hidden, d]) if prior_noise else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x.flatten(1))

    def encode(
        self, h: torch.Tensor, psi: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | x, ψ) of features `h` (B, H) and noise `psi` (..., B, noise_dim): mean of shape
        (..., B, latent) and log variance (B, latent)."""
        log_var = self.log_var_head(h).clamp(-self.max_log_var, self.max_log_var)
        if psi is None:
            return self.mean_head(h), log_var
        return self.mean_head(torch.cat([h.expand(*psi.shape[:-1], -1), psi], -1)), log_var

    def reverse_model(self, h: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """τ(ψ | x, z) = N(mean, diag exp(log variance)), for `z` of shape (..., B, latent)."""
        out = self.reverse(torch.cat([h.expand(*z.shape[:-1], -1), z], -1))
        mean, log_var = out.chunk(2, -1)
        return mean, log_var.clamp(-self.max_log_var, self.max_log_var)

    def pseudo_images(self) -> torch.Tensor:
        """The VampPrior's pseudo-inputs as images in [0, 1]."""
        return torch.sigmoid(self.pseudo).view(-1, *self.input_shape)

    def generated_pseudo_images(self, zeta: torch.Tensor) -> torch.Tensor:
        """The semi-implicit VampPrior's pseudo-inputs (DSIVI) of noise `zeta` (n, prior_noise):
        images in [0, 1], (n, *input_shape)."""
        return torch.sigmoid(self.prior_generator(zeta)).view(-1, *self.input_shape)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits of p(x | z) for z (..., latent): (..., prod(input_shape))."""
        return self.decoder(z)

    def encoder(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log variance) of q(z | x) at ψ = 0, the mean of q(ψ): the code of `x` that
        reconstructions and the autoencoder figure's interpolations use."""
        h = self.features(x)
        psi = torch.zeros(len(x), self.noise_dim, device=x.device) if self.noise_dim else None
        return self.encode(h, psi)

    def generator(self, z: torch.Tensor) -> torch.Tensor:
        """The decoded mean image of each z (B, latent): (B, *input_shape) in [0, 1]."""
        return torch.sigmoid(self.logits(z)).view(len(z), *self.input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction of `x`: the decoded mean of its code (`encoder`)."""
        return self.generator(self.encoder(x)[0])
