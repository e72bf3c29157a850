"""Networks of the autoencoding generative models (PAGAN, ALI, the VAE): a DCGAN-style
generator G(z), a factorised-Gaussian encoder E(x) and the discriminators, in one module.

One module, so that the shared training loop checkpoints, counts and moves every network at
once; the method says which discriminators it needs (`discriminators`), so a VAE carries none
and ALI only the joint one. Every network sizes itself from the input shape: the sides must be
divisible by 4 (8×8 digits: 2 → 4 → 8; 28×28 MNIST: 7 → 14 → 28; 32×32×3 CIFAR-10: 8 → 16 →
32). Upsampling is nearest-neighbour followed by a 3×3 convolution, so every weight layer of G
and E comes from the `Layers` factory (and there are no transposed-convolution checkerboards).

The discriminators are spectrally normalised (Miyato et al. 2018), as in the PAGAN paper: it
keeps them Lipschitz, which is what lets the non-saturating losses train without tuning the
balance of updates. They take images in [0, 1]:
- `image`: x ↦ logit, real data against G(z);
- `pair`: (x, y) concatenated along the width, (C, H, 2W) ↦ logit: PAGAN's adversarial
  reconstruction loss compares (x, a(x)) with (x, G(E(x)));
- `latent`: an MLP z ↦ logit, E(x) against the N(0, I) prior;
- `joint`: (x, z) ↦ logit, ALI/BiGAN's (x, E(x)) against (G(z), z).

`forward(x)` is the reconstruction G(μ_E(x)): what the parameter and FLOP counts measure.
Generation methods of the "autoencoder" interface use it (`methodlib.model_catalog`).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from methodlib.models.layers import Layers

DISCRIMINATORS = ("image", "pair", "latent", "joint")
SLOPE = 0.2  # LeakyReLU slope of the encoder and discriminators (DCGAN's)


def _downsampled(side: int) -> int:
    """The side after two 2×2 average poolings."""
    return side // 4


class ConvTrunk(nn.Module):
    """Twice a 3×3 convolution, LeakyReLU and 2×2 average pooling (the mirror of the
    generator's upsampling; the `Layers` factory has no strided convolution), flattened: the
    feature extractor of the encoder (plain layers) and of every image discriminator
    (spectrally normalised)."""

    def __init__(self, layers: Layers, shape: tuple[int, ...], width: int, normalise: bool):
        super().__init__()
        channels, height, w = shape
        wrap = spectral_norm if normalise else (lambda m: m)
        self.conv1 = wrap(layers.conv2d(channels, width, 3, padding=1))
        self.conv2 = wrap(layers.conv2d(width, 2 * width, 3, padding=1))
        self.features = 2 * width * _downsampled(height) * _downsampled(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.avg_pool2d(F.leaky_relu(self.conv1(x), SLOPE), 2)
        return F.avg_pool2d(F.leaky_relu(self.conv2(h), SLOPE), 2).flatten(1)


class Generator(nn.Module):
    """z ↦ Bernoulli logits of an image: linear to (2w, H/4, W/4), then twice nearest ×2
    upsampling, 3×3 convolution, batch norm, ReLU, and a last 3×3 convolution to C channels."""

    def __init__(self, layers: Layers, shape: tuple[int, ...], latent_dim: int, width: int):
        super().__init__()
        channels, height, w = shape
        self.start = (2 * width, height // 4, w // 4)
        self.inp = layers.linear(latent_dim, 2 * width * (height // 4) * (w // 4))
        self.norm0 = nn.BatchNorm1d(self.inp.out_features)
        self.conv1 = layers.conv2d(2 * width, width, 3, padding=1)
        self.norm1 = nn.BatchNorm2d(width)
        self.conv2 = layers.conv2d(width, width, 3, padding=1)
        self.norm2 = nn.BatchNorm2d(width)
        self.out = layers.conv2d(width, channels, 3, padding=1)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm0(self.inp(z))).view(len(z), *self.start)
        h = F.relu(self.norm1(self.conv1(F.interpolate(h, scale_factor=2, mode="nearest"))))
        h = F.relu(self.norm2(self.conv2(F.interpolate(h, scale_factor=2, mode="nearest"))))
        return self.out(h)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1]: the sigmoid of the logits (the VAE's Bernoulli mean)."""
        return torch.sigmoid(self.logits(z))


class Encoder(nn.Module):
    """x ↦ (mean, log-variance) of the factorised Gaussian q(z | x). The log-variance is
    clamped to [−10, `max_log_var`]: the lower end keeps exp(log_var) finite early in training;
    a low upper end (the method config's `max_std`) keeps the encoder from meeting the
    N(0, I) prior with noise alone (σ → 1, μ → 0: codes that carry nothing about x), since
    with σ ≤ max_std the spread of the codes that the latent discriminator asks for can only
    come from μ(x)."""

    def __init__(
        self,
        layers: Layers,
        shape: tuple[int, ...],
        latent_dim: int,
        width: int,
        max_log_var: float = 10.0,
    ):
        super().__init__()
        self.trunk = ConvTrunk(layers, shape, width, normalise=False)
        self.head = layers.linear(self.trunk.features, 2 * latent_dim)
        self.max_log_var = max_log_var

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.head(self.trunk(x)).chunk(2, dim=1)
        return mean, log_var.clamp(-10.0, self.max_log_var)

    def sample(self, x: torch.Tensor) -> torch.Tensor:
        """A reparameterised draw z = μ + σ ε, differentiable in E's parameters."""
        mean, log_var = self(x)
        return mean + (0.5 * log_var).exp() * torch.randn_like(mean)


def _mlp_head(layers: Layers, n_in: int, hidden: int) -> nn.Sequential:
    """Spectrally normalised n_in → hidden → 1 with LeakyReLU."""
    return nn.Sequential(
        spectral_norm(layers.linear(n_in, hidden)),
        nn.LeakyReLU(SLOPE),
        spectral_norm(layers.linear(hidden, 1)),
    )


class ImageDiscriminator(nn.Module):
    """An image (or an image pair laid side by side) ↦ one logit. The head is an MLP, not a
    linear map: the trunk's receptive field does not span both halves of a pair, and a linear
    head on their features would score each half separately, blind to whether the right one
    shows the content of the left."""

    def __init__(self, layers: Layers, shape: tuple[int, ...], width: int):
        super().__init__()
        self.trunk = ConvTrunk(layers, shape, width, normalise=True)
        self.head = _mlp_head(layers, self.trunk.features, 8 * width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x)).squeeze(1)


class LatentDiscriminator(nn.Module):
    """z ↦ one logit: a two-hidden-layer MLP."""

    def __init__(self, layers: Layers, latent_dim: int, hidden: int):
        super().__init__()
        self.inp = spectral_norm(layers.linear(latent_dim, hidden))
        self.head = _mlp_head(layers, hidden, hidden)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.head(F.leaky_relu(self.inp(z), SLOPE)).squeeze(1)


class JointDiscriminator(nn.Module):
    """(x, z) ↦ one logit: image features and latent features concatenated, then an MLP."""

    def __init__(self, layers: Layers, shape: tuple[int, ...], latent_dim: int, width: int):
        super().__init__()
        hidden = 8 * width
        self.image = ConvTrunk(layers, shape, width, normalise=True)
        self.latent = spectral_norm(layers.linear(latent_dim, hidden))
        self.head = _mlp_head(layers, self.image.features + hidden, hidden)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h = torch.cat([self.image(x), F.leaky_relu(self.latent(z), SLOPE)], dim=1)
        return self.head(h).squeeze(1)


class AutoencodingGAN(nn.Module):
    """G, E and the named discriminators; `generator_parameters` are what the shared optimizer
    trains, `discriminator_parameters` what the method's own optimizer trains."""

    def __init__(
        self,
        input_shape: tuple[int, ...],
        n_classes: int,
        layers: Layers,
        latent_dim: int = 32,
        width: int = 32,
        discriminators: Iterable[str] = (),
        max_log_var: float = 10.0,
    ):
        super().__init__()
        if len(input_shape) != 3 or input_shape[1] % 4 or input_shape[2] % 4:
            raise ValueError(
                f"the autoencoding GAN networks need (C, H, W) images with sides divisible by 4, "
                f"got {tuple(input_shape)}"
            )
        unknown = set(discriminators) - set(DISCRIMINATORS)
        if unknown:
            raise ValueError(f"unknown discriminators {sorted(unknown)}; known: {DISCRIMINATORS}")
        channels, height, w = input_shape
        self.input_shape = tuple(input_shape)
        self.latent_dim = latent_dim
        self.generator = Generator(layers, input_shape, latent_dim, width)
        self.encoder = Encoder(layers, input_shape, latent_dim, width, max_log_var)
        build = {
            "image": lambda: ImageDiscriminator(layers, input_shape, width),
            "pair": lambda: ImageDiscriminator(layers, (channels, height, 2 * w), width),
            "latent": lambda: LatentDiscriminator(layers, latent_dim, 8 * width),
            "joint": lambda: JointDiscriminator(layers, input_shape, latent_dim, width),
        }
        self.discriminators = nn.ModuleDict({name: build[name]() for name in discriminators})

    def generator_parameters(self) -> list[nn.Parameter]:
        return [*self.generator.parameters(), *self.encoder.parameters()]

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return list(self.discriminators.parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(self.encoder(x)[0])
