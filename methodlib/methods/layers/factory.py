"""The layer factory of the methods that replace every weight layer of an architecture with a
stochastic twin (sparse VD's variational layers, `ffg_vi`'s Gaussian layers,
`bayes_incremental`'s Gaussian-prior layers)."""

from __future__ import annotations

from typing import Any

from torch import nn

from methodlib.models import Layers


class ReplacingLayers(Layers):
    """Every linear layer a `linear_cls(n_in, n_out, *args)` and every convolution a
    `conv_cls(c_in, c_out, kernel, padding, *args)`."""

    def __init__(self, linear_cls: type[nn.Module], conv_cls: type[nn.Module], *args: Any):
        self.linear_cls = linear_cls
        self.conv_cls = conv_cls
        self.args = args

    def linear(self, n_in: int, n_out: int) -> nn.Module:
        return self.linear_cls(n_in, n_out, *self.args)

    def conv2d(self, c_in: int, c_out: int, kernel: int, padding: int = 0) -> nn.Module:
        return self.conv_cls(c_in, c_out, kernel, padding, *self.args)
