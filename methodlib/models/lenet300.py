"""LeNet-300-100: the fully connected network of the pruning papers (LeCun et al. 1998).
`batch_norm=True` (the `lenet300_100_bn` model) puts batch normalisation before each hidden
activation."""

from __future__ import annotations

import math

import torch
from torch import nn

from methodlib.models.layers import Layers


class LeNet300_100(nn.Module):  # noqa: N801 - the architecture's published name
    def __init__(
        self,
        input_shape: tuple[int, ...],
        n_classes: int,
        layers: Layers,
        batch_norm: bool = False,
    ):
        super().__init__()
        n_in = math.prod(input_shape)

        def norm(units: int) -> list[nn.Module]:
            # nothing at all without batch norm: the state-dict keys stay those of the plain
            # architecture, so its checkpoints keep loading
            return [layers.norm("linear", units)] if batch_norm else []

        self.net = nn.Sequential(
            nn.Flatten(),
            layers.linear(n_in, 300),
            *norm(300),
            nn.ReLU(),
            layers.after("linear", 300),
            layers.linear(300, 100),
            *norm(100),
            nn.ReLU(),
            layers.after("linear", 100),
            layers.linear(100, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
