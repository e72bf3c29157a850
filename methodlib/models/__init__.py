"""Architectures by the name a pipeline file uses for them."""

from __future__ import annotations

from functools import partial
from typing import Any

from torch import nn

from methodlib.models.denoisers import ConvDenoiser, MLPDenoiser
from methodlib.models.layers import Layers
from methodlib.models.lenet5 import LeNet5
from methodlib.models.lenet300 import LeNet300_100

MODELS: dict[str, Any] = {
    "lenet300_100": LeNet300_100,
    "lenet300_100_bn": partial(LeNet300_100, batch_norm=True),
    "lenet5": LeNet5,
    "lenet5_bn": partial(LeNet5, batch_norm=True),
    "mlp_denoiser": MLPDenoiser,
    "conv_denoiser": ConvDenoiser,
}
"""Constructors taking (input_shape, n_classes, layers); `_bn` variants add batch norm. The
denoisers (generation methods only) carry `task = "generation"`."""


def model_task(name: str) -> str:
    """The task whose methods can use the architecture: "classification" unless it says."""
    return getattr(MODELS[name], "task", "classification")


def build_model(
    name: str, input_shape: tuple[int, ...], n_classes: int, layers: Layers | None = None
) -> nn.Module:
    return MODELS[name](tuple(input_shape), n_classes, layers or Layers())


__all__ = ["MODELS", "Layers", "build_model", "model_task"]
