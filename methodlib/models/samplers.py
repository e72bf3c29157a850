"""Networks of the Metropolis–Hastings samplers (`methodlib/methods/mh/`), sized for vectors
and small images (flattened).

`realnvp`: an explicit proposal, a RealNVP flow (Dinh et al. 2017) from a standard normal: it
both samples and evaluates its density, as the MH test with a known target needs (interface
"flow"). `mlp_gan`: an implicit proposal, an MLP generator, with an MLP discriminator whose
logit estimates log p/q, the MH test's density ratio (interface "gan").
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from methodlib.models.layers import Layers


def _mlp(layers: Layers, sizes: list[int], act: Callable[[], nn.Module] = nn.SiLU) -> nn.Sequential:
    parts: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        parts.append(layers.linear(n_in, n_out))
        if i < len(sizes) - 2:
            parts.append(act())
    return nn.Sequential(*parts)


class Coupling(nn.Module):
    """Affine coupling: coordinates outside `mask` move by a scale and shift computed from
    those inside it; log-scales are bounded by tanh so early steps cannot blow up."""

    def __init__(self, layers: Layers, mask: torch.Tensor, hidden: int):
        super().__init__()
        self.register_buffer("mask", mask)
        dim = len(mask)
        self.net = _mlp(layers, [dim, hidden, hidden, 2 * dim])

    def _scale_shift(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_scale, shift = self.net(kept).chunk(2, dim=1)
        free = 1 - self.mask
        return torch.tanh(log_scale) * free, shift * free

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z → x and log|det ∂x/∂z|."""
        log_scale, shift = self._scale_shift(z * self.mask)
        return z * log_scale.exp() + shift, log_scale.sum(dim=1)

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x → z and log|det ∂z/∂x|."""
        log_scale, shift = self._scale_shift(x * self.mask)
        return (x - shift) * (-log_scale).exp(), -log_scale.sum(dim=1)


class RealNVP(nn.Module):
    """q(x): x = loc + exp(log_scale) ⊙ f(z), z ~ N(0, I), f a stack of couplings with
    alternating masks. `sample` gives x with log q(x) (reparameterised), `log_prob` inverts.
    The forward pass (the one `count_flops` makes) is `log_prob`."""

    def __init__(
        self,
        input_shape: tuple[int, ...],
        n_classes: int,
        layers: Layers,
        couplings: int = 6,
        hidden: int = 64,
    ):
        super().__init__()
        self.shape = tuple(input_shape)
        dim = math.prod(self.shape)
        half = torch.arange(dim) % 2
        self.couplings = nn.ModuleList(
            Coupling(layers, (half if i % 2 == 0 else 1 - half).float(), hidden)
            for i in range(couplings)
        )
        self.loc = nn.Parameter(torch.zeros(dim))
        self.log_scale = nn.Parameter(torch.zeros(dim))

    @property
    def dim(self) -> int:
        return len(self.loc)

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, dim) draws and their log q."""
        z = torch.randn(n, self.dim, device=self.loc.device)
        log_q = -0.5 * (z**2).sum(dim=1) - 0.5 * self.dim * math.log(2 * math.pi)
        x = z
        for coupling in self.couplings:
            x, log_det = coupling(x)
            log_q = log_q - log_det
        return self.loc + x * self.log_scale.exp(), log_q - self.log_scale.sum()

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        z = (x.flatten(1) - self.loc) * (-self.log_scale).exp()
        log_det = -self.log_scale.sum().expand(len(z))
        for coupling in reversed(self.couplings):
            z, step = coupling.inverse(z)
            log_det = log_det + step
        return -0.5 * (z**2).sum(dim=1) - 0.5 * self.dim * math.log(2 * math.pi) + log_det

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_prob(x)


class MLPGAN(nn.Module):
    """A generator G: z (latent_dim, standard normal) → x, and a discriminator D: x → logit,
    MLPs on the flattened data. The discriminator's logit is its estimate of log p(x)/q(x)
    (the logistic loss's optimum), which the MH test reads. The forward pass is D's."""

    def __init__(
        self,
        input_shape: tuple[int, ...],
        n_classes: int,
        layers: Layers,
        latent_dim: int = 8,
        hidden: int = 128,
    ):
        super().__init__()
        self.shape = tuple(input_shape)
        self.latent_dim = latent_dim
        dim = math.prod(self.shape)
        self.generator = _mlp(layers, [latent_dim, hidden, hidden, dim])
        self.discriminator = _mlp(layers, [dim, hidden, hidden, 1], lambda: nn.LeakyReLU(0.2))

    def generator_parameters(self) -> list[nn.Parameter]:
        return list(self.generator.parameters())

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return list(self.discriminator.parameters())

    def generate(self, n: int) -> torch.Tensor:
        z = torch.randn(n, self.latent_dim, device=next(self.parameters()).device)
        return self.generator(z).view(n, *self.shape)

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x.flatten(1)).squeeze(1)

    @torch.no_grad()
    def rescale_logit(self, scale: float, shift: float) -> None:
        """Fold logit' = scale·logit + shift into the discriminator's last layer (the MH GAN's
        Platt calibration), so the saved model carries the calibrated ratio."""
        last = self.discriminator[-1]
        last.weight.mul_(scale)
        last.bias.mul_(scale).add_(shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(x)
