"""A wider CNN than LeNet-5 with AlexNet's overlapping 3×3, stride-2 max pooling: two padded
5×5 conv layers (32, 64 channels) and a 256-unit hidden layer. The overlap is what gives the
PerforatedCNN pooling-structure mask something to find (LeNet-5's 2×2 pooling covers every
position once)."""

from __future__ import annotations

import torch
from torch import nn

from methodlib.models.layers import Layers


class WideCNN(nn.Module):
    def __init__(self, input_shape: tuple[int, ...], n_classes: int, layers: Layers):
        super().__init__()
        channels = input_shape[0]
        self.features = nn.Sequential(
            layers.conv2d(channels, 32, 5, padding=2),
            nn.ReLU(),
            layers.after("conv", 32),
            nn.MaxPool2d(3, 2),
            layers.conv2d(32, 64, 5, padding=2),
            nn.ReLU(),
            layers.after("conv", 64),
            nn.MaxPool2d(3, 2),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_flat = self.features(torch.zeros(1, *input_shape)).shape[1]
        self.classifier = nn.Sequential(
            layers.linear(n_flat, 256),
            nn.ReLU(),
            layers.after("linear", 256),
            layers.linear(256, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
