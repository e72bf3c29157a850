"""The small fully connected networks of the latent-variable VAEs (`methods/latent_vi/`): an
encoder q(z | x), optionally semi-implicit (it also reads a noise ψ ~ N(0, I)), a Bernoulli
decoder p(x | z), and the optional parts some methods ask for: IWHVI's reverse model
τ(ψ | x, z), the VampPrior's pseudo-inputs and DSIVI's generator of pseudo-inputs.

The semi-implicit encoder is the reference's (artsobolev/IWHVI, `HierarchicalVAE._q_decoder`):
ψ enters every hidden layer, added to its pre-activation through a weight of its own, and the
heads of the mean and of the log variance read [h, ψ]. Only the first layer's x part is
computed once per example (`features`); the K + 1 evaluations of q(z | x, ψ_k) that the
semi-implicit bounds need each run the rest (`encode`)."""

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


class ReverseModel(nn.Module):
    """IWHVI's τ(ψ | x, z) = N(mean, diag exp(log variance)) as the reference builds it
    (`_tau_proposal`): x and z each through a weight into the first hidden layer, a second
    hidden layer, then the two heads; it reads the image itself, not the encoder's features,
    so its own gradient (DReG) and the encoder's stay apart."""

    def __init__(self, d: int, latent_dim: int, hidden: int, noise_dim: int, max_log_var: float):
        super().__init__()
        self.x_layer = nn.Linear(d, hidden)
        self.z_layer = nn.Linear(latent_dim, hidden, bias=False)
        self.hidden_layer = nn.Linear(hidden, hidden)
        self.head = nn.Linear(hidden, 2 * noise_dim)
        self.max_log_var = max_log_var

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log variance) for flat images `x` (B, D) and `z` (..., B, latent)."""
        a = torch.relu(self.x_layer(x) + self.z_layer(z))
        mean, log_var = self.head(torch.relu(self.hidden_layer(a))).chunk(2, -1)
        return mean, log_var.clamp(-self.max_log_var, self.max_log_var)


class LatentVAENets(nn.Module):
    """Encoder, decoder and the optional reverse model and pseudo-inputs.

    `encode(h, psi)` gives the Gaussian q(z | x, ψ) as (mean, log variance), both depending
    on x and ψ (see the module docstring). With `noise_dim = 0` the encoder is the usual
    Gaussian one, two hidden layers and the two heads."""

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
        self.input_layer = nn.Linear(d, hidden)
        self.hidden_layer = nn.Linear(hidden, hidden)
        self.mean_head = nn.Linear(hidden + noise_dim, latent_dim)
        self.log_var_head = nn.Linear(hidden + noise_dim, latent_dim)
        self.decoder = _mlp([latent_dim, hidden, hidden, d])
        self.noise_layers = (
            nn.ModuleList([nn.Linear(noise_dim, hidden, bias=False) for _ in range(2)])
            if noise_dim
            else None
        )
        self.reverse = (
            ReverseModel(d, latent_dim, hidden, noise_dim, max_log_var) if reverse else None
        )
        self.pseudo = nn.Parameter(torch.randn(pseudo_inputs, d) * 0.1) if pseudo_inputs else None
        self.prior_noise = prior_noise
        self.prior_generator = _mlp([prior_noise, hidden, d]) if prior_noise else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The x part of the first hidden layer's pre-activation, (B, hidden): what every
        draw of ψ shares."""
        return self.input_layer(x.flatten(1))

    def encode(
        self, h: torch.Tensor, psi: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | x, ψ) of features `h` (B, H) and noise `psi` (..., B, noise_dim): mean and log
        variance of shape (..., B, latent) ((B, latent) without ψ)."""
        if psi is None:
            out = torch.relu(self.hidden_layer(torch.relu(h)))
        else:
            first, second = self.noise_layers
            a = torch.relu(h + first(psi))
            a = torch.relu(self.hidden_layer(a) + second(psi))
            out = torch.cat([a, psi], -1)
        log_var = self.log_var_head(out).clamp(-self.max_log_var, self.max_log_var)
        return self.mean_head(out), log_var

    def reverse_model(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """τ(ψ | x, z) for images `x` (B, ...) and `z` (..., B, latent)."""
        return self.reverse(x.flatten(1), z)

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
