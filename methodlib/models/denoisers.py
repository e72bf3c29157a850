"""Denoising networks of diffusion models: they map a noisy input (DDPM's x_t, or SS-DDPM's
standardised tail statistic G_t) and the step t to a tensor of the data's shape (the noise ε or
the clean example x̂0, as the method reads it).

Sized for CPU: `mlp_denoiser` (a residual MLP) for vectors on the cube, simplex and sphere;
`conv_denoiser` (a two-level U-Net without attention) for 8×8 digits and 28×28 MNIST. The step
enters through a sinusoidal embedding (Vaswani et al. 2017, as in Ho et al. 2020) added to every
block. Both are for the generation task (`methodlib.model_catalog`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.models.layers import Layers


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(B,) steps → (B, dim) sines and cosines at geometric frequencies 1 .. 1/10000."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class TimeEmbedding(nn.Module):
    def __init__(self, layers: Layers, dim: int, out: int):
        super().__init__()
        self.dim = dim
        self.net = nn.Sequential(layers.linear(dim, out), nn.SiLU(), layers.linear(out, out))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.net(sinusoidal_embedding(t, self.dim))


def _steps(x: torch.Tensor, t: torch.Tensor | None) -> torch.Tensor:
    """`t` as a (B,) tensor; None (a plain forward pass, as `count_flops` makes) means step 0,
    which costs the same as any other."""
    if t is None:
        return torch.zeros(len(x), device=x.device)
    return t.expand(len(x)) if t.ndim == 0 else t


class MLPDenoiser(nn.Module):
    """x (B, d), t (B,) → (B, d): h = W x + e(t), then `depth` residual blocks
    h ← h + W_k SiLU(h + e_k(t))."""

    def __init__(
        self,
        input_shape: tuple[int, ...],
        n_classes: int,
        layers: Layers,
        hidden: int = 128,
        depth: int = 3,
        time_dim: int = 64,
    ):
        super().__init__()
        features = math.prod(input_shape)
        self.time = TimeEmbedding(layers, time_dim, hidden)
        self.inp = layers.linear(features, hidden)
        self.blocks = nn.ModuleList(layers.linear(hidden, hidden) for _ in range(depth))
        self.step_shifts = nn.ModuleList(layers.linear(hidden, hidden) for _ in range(depth))
        self.out = layers.linear(hidden, features)

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time(_steps(x, t))
        h = self.inp(x.flatten(1)) + emb
        for block, shift in zip(self.blocks, self.step_shifts, strict=True):
            h = h + block(F.silu(h + shift(emb)))
        return self.out(F.silu(h)).view_as(x)


class _ResBlock(nn.Module):
    """GroupNorm → SiLU → 3×3 conv, the step's embedding added per channel, twice, with a
    1×1 skip when the width changes."""

    def __init__(self, layers: Layers, c_in: int, c_out: int, emb: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(8, c_in), c_in)
        self.conv1 = layers.conv2d(c_in, c_out, 3, padding=1)
        self.step = layers.linear(emb, c_out)
        self.norm2 = nn.GroupNorm(8, c_out)
        self.conv2 = layers.conv2d(c_out, c_out, 3, padding=1)
        self.skip = layers.conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.step(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class ConvDenoiser(nn.Module):
    """A U-Net-lite: full resolution (`width` channels) and half resolution (2·`width`), one
    residual block each way and a skip connection. 8×8 → 4×4 and 28×28 → 14×14; average pooling
    down, nearest-neighbour upsampling up, so every weight layer comes from the `Layers`
    factory."""

    def __init__(
        self,
        input_shape: tuple[int, ...],
        n_classes: int,
        layers: Layers,
        width: int = 32,
        time_dim: int = 64,
    ):
        super().__init__()
        channels, height, w = input_shape
        if height % 2 or w % 2:
            raise ValueError(f"conv_denoiser needs even image sides, got {height}×{w}")
        emb = 4 * width
        self.time = TimeEmbedding(layers, time_dim, emb)
        self.inp = layers.conv2d(channels, width, 3, padding=1)
        self.down = _ResBlock(layers, width, width, emb)
        self.mid = _ResBlock(layers, width, 2 * width, emb)
        self.mid2 = _ResBlock(layers, 2 * width, 2 * width, emb)
        self.up = _ResBlock(layers, 3 * width, width, emb)
        self.norm = nn.GroupNorm(8, width)
        self.out = layers.conv2d(width, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time(_steps(x, t))
        skip = self.down(self.inp(x), emb)
        h = self.mid2(self.mid(F.avg_pool2d(skip, 2), emb), emb)
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.up(torch.cat([h, skip], dim=1), emb)
        return self.out(F.silu(self.norm(h)))
