"""A small residual network whose units are applied in a fixed order (`steps=None`: a plain
fixed-depth ResNet) or chosen per input at every step by a learned controller (ReSet, Kemaev,
Polykovskiy, Vetrov 2018: the `reset` method of `methodlib/methods/routing/`).

stem: two 3×3 convolutions, each followed by ReLU and 2×2 max-pooling (`channels` maps at a
quarter of the image side); units: K residual units h ← h + conv(relu(conv(relu(h)))) with
`channels` maps; head: ReLU, global average pooling, a linear layer. No batch norm: a shared
unit applied at several depths would need statistics per depth.

With `steps` = T, the state passes T times through a unit chosen from the same K: the
controller scores the units from the state's pooled features, logits_t = W · avg(h_t) + b_t
(one bias row per step, so a route may also depend on the step alone). Training samples a
one-hot choice by the straight-through Gumbel-softmax (the forward pass applies exactly one
unit, the gradient reaches the controller through the relaxed weights, all units evaluated);
evaluation takes the argmax and evaluates only the chosen unit for each input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.models.layers import Layers


class ResidualUnit(nn.Module):
    def __init__(self, channels: int, layers: Layers):
        super().__init__()
        self.conv1 = layers.conv2d(channels, channels, 3, padding=1)
        self.conv2 = layers.conv2d(channels, channels, 3, padding=1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """The residual branch f(h); the caller adds h."""
        return self.conv2(F.relu(self.conv1(F.relu(h))))


class RoutedResNet(nn.Module):
    def __init__(
        self,
        input_shape: tuple[int, ...],
        n_classes: int,
        layers: Layers,
        channels: int = 16,
        units: int = 4,
        steps: int | None = None,
        temperature: float = 1.0,
    ):
        super().__init__()
        self.stem = nn.Sequential(
            layers.conv2d(input_shape[0], channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            layers.conv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.units = nn.ModuleList(ResidualUnit(channels, layers) for _ in range(units))
        self.head = layers.linear(channels, n_classes)
        self.steps = steps
        self.temperature = temperature
        if steps is not None:  # ReSet's controller; a fixed-depth network has none
            self.controller = nn.Linear(channels, units, bias=False)
            self.step_bias = nn.Parameter(torch.zeros(steps, units))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_routes(x)[0]

    def forward_with_routes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and the unit chosen at every step, (batch, T) (empty for fixed depth)."""
        h = self.stem(x)
        routes = []
        if self.steps is None:
            for unit in self.units:
                h = h + unit(h)
        for t in range(self.steps or 0):
            logits = self.controller(h.mean((2, 3))) + self.step_bias[t]
            if self.training:
                weights = F.gumbel_softmax(logits, tau=self.temperature, hard=True)
                branches = torch.stack([unit(h) for unit in self.units], 1)
                h = h + torch.einsum("bk,bkchw->bchw", weights, branches)
                routes.append(weights.argmax(1))
            else:
                choice = logits.argmax(1)
                h = self.apply_chosen(h, choice)
                routes.append(choice)
        routes_tensor = torch.stack(routes, 1) if routes else x.new_zeros(len(x), 0).long()
        return self.head(F.relu(h).mean((2, 3))), routes_tensor

    def apply_chosen(self, h: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
        """h + f_k(h) with k = choice[i] for every input i, evaluating each unit only on the
        inputs routed to it."""
        out = h.clone()
        for k, unit in enumerate(self.units):
            chosen = choice == k
            if chosen.any():
                out[chosen] = h[chosen] + unit(h[chosen])
        return out
