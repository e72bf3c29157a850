"""`mc_dropout`: dropout after hidden layers, kept on at test time (Gal & Ghahramani 2016).

Training is maximum likelihood with dropout; predictions average `samples` stochastic forward
passes, each a draw from the approximate posterior. By default only fully connected hidden
layers get dropout ("lenet-ip" in the paper); `p_conv` adds it after convolutions too.
"""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.base import ClassifierMethod, sampled_proba
from methodlib.methods.ensembles.configs import MCDropoutConfig
from methodlib.models import Layers


class DropoutLayers(Layers):
    def __init__(self, p: float, p_conv: float):
        self.rates = {"linear": p, "conv": p_conv}

    def after(self, kind: str, units: int) -> nn.Module:
        rate = self.rates[kind]
        return nn.Dropout(rate) if rate > 0 else nn.Identity()


class MCDropout(ClassifierMethod):
    Config = MCDropoutConfig
    config: MCDropoutConfig

    def layers(self) -> Layers:
        return DropoutLayers(self.config.p, self.config.p_conv)

    @torch.no_grad()
    def predict_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """`samples` forward passes with dropout on and every other module as the caller left
        it (evaluation mode); the modules' modes are restored afterwards."""
        dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
        modes = [m.training for m in dropouts]
        for m in dropouts:
            m.train()
        try:
            return sampled_proba(model, x, self.config.samples)
        finally:
            for m, mode in zip(dropouts, modes, strict=True):
                m.train(mode)
