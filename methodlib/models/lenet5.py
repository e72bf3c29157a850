"""LeNet-5-Caffe: two conv layers (20, 50 channels) and a 500-unit hidden layer, as in the
Caffe model used by the sparse VD and SBP papers. Small inputs (8×8 digits) get padded
convolutions so both pooling stages still fit. `batch_norm=True` (the `lenet5_bn` model) puts
batch normalisation before each hidden activation."""

from __future__ import annotations

import torch
from torch import nn

from methodlib.models.layers import Layers


class LeNet5(nn.Module):
    def __init__(
        self,
        input_shape: tuple[int, ...],
        n_classes: int,
        layers: Layers,
        batch_norm: bool = False,
    ):
        super().__init__()
        channels, height, width = input_shape
        padding = 2 if min(height, width) < 20 else 0

        def norm(kind: str, units: int) -> list[nn.Module]:
            # nothing at all without batch norm: the state-dict keys stay those of the plain
            # architecture, so its checkpoints keep loading
            return [layers.norm(kind, units)] if batch_norm else []

        self.features = nn.Sequential(
            layers.conv2d(channels, 20, 5, padding=padding),
            *norm("conv", 20),
            nn.ReLU(),
            layers.after("conv", 20),
            nn.MaxPool2d(2),
            layers.conv2d(20, 50, 5, padding=padding),
            *norm("conv", 50),
            nn.ReLU(),
            layers.after("conv", 50),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_flat = self.features(torch.zeros(1, *input_shape)).shape[1]
        self.classifier = nn.Sequential(
            layers.linear(n_flat, 500),
            *norm("linear", 500),
            nn.ReLU(),
            layers.after("linear", 500),
            layers.linear(500, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
