"""`sbp`: structured Bayesian pruning (Neklyudov, Molchanov, Ashukha, Vetrov 2017).

"Structured Bayesian Pruning via Log-Normal Multiplicative Noise": each neuron or channel is
multiplied by its own noise θ, log θ ~ N(μ, σ²) truncated to [a, b], under a log-uniform prior
on the same range; groups whose noise has a low signal-to-noise ratio are removed whole, which
shrinks the layers themselves. Usually started from a trained `dense` run (`init_from`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from methodlib.methods.pruning.configs import SBPConfig
from methodlib.methods.pruning.variational import LogNormalNoise, VariationalMethod
from methodlib.metrics.pruning import chain, layer_names, weight_layers
from methodlib.models import Layers


class NoiseLayers(Layers):
    """Plain weights, with log-normal noise after every hidden activation."""

    def __init__(self, config: SBPConfig):
        self.config = config

    def after(self, kind: str, units: int) -> nn.Module:
        c = self.config
        return LogNormalNoise(kind, units, c.a, c.b, c.snr_threshold, c.mu_init, c.log_sigma_init)


class SBP(VariationalMethod):
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
