"""The networks of the neural imputation methods: residual MLPs of a named size.

The reference code's tabular networks (tigvarts/vaeac, `imputation_networks.py`) are
width-256 MLPs of 10 residual blocks, y = y + LeakyReLU(W y + b), with a 64-dimensional
latent space; `imputation_mlp_large` is that size, `imputation_mlp` a CPU-sized one. Like the
transformer sizes these are no constructors: each method builds its own networks (VAEAC's
proposal, prior and generator; the VAE's encoder and decoder) from the size."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class MLPSize:
    width: int
    depth: int  # residual blocks
    latent: int


IMPUTATION_SIZES: dict[str, MLPSize] = {
    "imputation_mlp": MLPSize(128, 2, 16),
    "imputation_mlp_large": MLPSize(256, 10, 64),
}


class ResidualMLP(nn.Module):
    """Linear → LeakyReLU, `depth` residual blocks, Linear."""

    def __init__(self, d_in: int, d_out: int, size: MLPSize):
        super().__init__()
        self.inp = nn.Sequential(nn.Linear(d_in, size.width), nn.LeakyReLU())
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(size.width, size.width), nn.LeakyReLU())
            for _ in range(size.depth)
        )
        self.out = nn.Linear(size.width, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)
