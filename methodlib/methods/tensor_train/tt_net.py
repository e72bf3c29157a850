"""`tt_layers`: a classifier whose first fully connected layer is a TT-matrix (`layer.py`),
trained by maximum likelihood like `dense`. On LeNet-300-100 that layer (784 → 300) holds
99 % of the weights, which is what the paper compresses; every other layer stays dense.

The modes and ranks come from the config; modes left out are near-equal factors of the layer's
sizes, so the method fits any classifier (LeNet-5's first fully connected layer too)."""

from __future__ import annotations

import math

from torch import nn

from methodlib.errors import RunError
from methodlib.methods.base import ClassifierMethod
from methodlib.methods.tensor_train.configs import TTLayersConfig
from methodlib.methods.tensor_train.layer import TTLinear, factorise, tt_params
from methodlib.models import Layers


class FirstLinearTT(Layers):
    """Plain layers, except that the first linear layer asked for is a `TTLinear`."""

    def __init__(self, config: TTLayersConfig):
        self.config = config
        self.made = False

    def linear(self, n_in: int, n_out: int) -> nn.Module:
        if self.made:
            return super().linear(n_in, n_out)
        self.made = True
        c = self.config
        d = c.d()
        in_modes = c.input_modes or factorise(n_in, d)
        out_modes = c.output_modes or factorise(n_out, d)
        for name, modes, size in (("input", in_modes, n_in), ("output", out_modes, n_out)):
            if math.prod(modes) != size:
                raise RunError(
                    f"method.{name}_modes: {modes} multiply to {math.prod(modes)}, but the first linear "
                    f"layer has {size}; give modes whose product is {size} or leave them out"
                )
        ranks = c.tt_rank if isinstance(c.tt_rank, list) else [c.tt_rank] * (d - 1)
        return TTLinear(in_modes, out_modes, ranks)


class TTNet(ClassifierMethod):
    Config = TTLayersConfig

    def layers(self) -> Layers:
        return FirstLinearTT(self.config)

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        """The TT layer's parameters (cores and bias), those of the dense layer it replaces,
        and their ratio."""
        layer = next(m for m in model.modules() if isinstance(m, TTLinear))
        tt = tt_params(layer.in_modes, layer.out_modes, layer.ranks) + layer.out_features
        dense = layer.in_features * layer.out_features + layer.out_features
        return {
            "tt_layer_params": tt,
            "dense_layer_params": dense,
            "tt_layer_compression": dense / tt,
        }
