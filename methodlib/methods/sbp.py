"""`sbp`: structured Bayesian pruning (Neklyudov, Molchanov, Ashukha, Vetrov 2017).

"Structured Bayesian Pruning via Log-Normal Multiplicative Noise": each neuron or channel is
multiplied by its own noise θ, log θ ~ N(μ, σ²) truncated to [a, b], under a log-uniform prior
on the same range; groups whose noise has a low signal-to-noise ratio are removed whole, which
shrinks the layers themselves. Usually started from a trained `dense` run (`init_from`).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field, model_validator
from torch import nn

from methodlib.methods.bayes_layers import LogNormalNoise, VariationalConfig, VariationalMethod
from methodlib.metrics.pruning import chain, layer_names, weight_layers
from methodlib.models import Layers


class SBPConfig(VariationalConfig):
    name: Literal["sbp"] = "sbp"
    snr_threshold: float = Field(1.0, gt=0, description="groups with SNR ≤ this are removed")
    a: float = Field(-20.0, description="lower end of log θ's range (posterior and prior)")
    b: float = Field(0.0, description="upper end of log θ's range")
    mu_init: float = Field(0.0, description="initial μ of every group's log θ")
    log_sigma_init: float = Field(-5.0, description="initial log σ of every group's log θ")

    @model_validator(mode="after")
    def _ordered(self) -> SBPConfig:
        if not self.a < self.b:
            raise ValueError(f"need a < b, got a = {self.a}, b = {self.b}")
        return self


class NoiseLayers(Layers):
    """Plain weights, with log-normal noise after every hidden activation."""

    def __init__(self, config: SBPConfig):
        self.config = config

    def after(self, kind: str, units: int) -> nn.Module:
        c = self.config
        return LogNormalNoise(kind, units, c.a, c.b, c.snr_threshold, c.mu_init, c.log_sigma_init)


class SBP(VariationalMethod):
    name = "sbp"
    Config = SBPConfig
    config: SBPConfig

    def layers(self) -> Layers:
        return NoiseLayers(self.config)

    def kl(self, model: nn.Module) -> torch.Tensor:
        return sum(m.kl() for m in model.modules() if isinstance(m, LogNormalNoise))

    def unit_statistics(self, model: nn.Module) -> dict[str, tuple[torch.Tensor, float, str]]:
        """log10 SNR of each group, under the name of the layer whose units it scales."""
        stats, layers = {}, weight_layers(model)
        names = dict(zip(map(id, layers), layer_names(layers), strict=True))
        owner = None
        for module in chain(model):
            if id(module) in names:
                owner = names[id(module)]
            elif isinstance(module, LogNormalNoise):
                log_snr = module.moments()[1].detach().cpu().log10()
                stats[owner] = (log_snr, math.log10(self.config.snr_threshold), "log10 SNR")
        return stats
