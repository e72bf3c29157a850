"""Architectures by the name a pipeline file uses for them."""

from __future__ import annotations

from torch import nn

from methodlib.models.layers import Layers
from methodlib.models.lenet5 import LeNet5
from methodlib.models.lenet300 import LeNet300_100

MODELS: dict[str, type[nn.Module]] = {
    "lenet300_100": LeNet300_100,
    "lenet5": LeNet5,
}


def build_model(
    name: str, input_shape: tuple[int, ...], n_classes: int, layers: Layers | None = None
) -> nn.Module:
    return MODELS[name](tuple(input_shape), n_classes, layers or Layers())


__all__ = ["MODELS", "Layers", "build_model"]
