"""`sparse_vd`: sparse variational dropout (Molchanov, Ashukha, Vetrov 2017).

"Variational Dropout Sparsifies Deep Neural Networks": every weight has a Gaussian posterior
N(θ, αθ²) under a log-uniform prior; weights whose dropout rate α grows large carry no
information and are zeroed at test time (log α ≥ threshold).
"""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.layers.factory import ReplacingLayers
from methodlib.methods.pruning.configs import SparseVDConfig
from methodlib.methods.pruning.variational import (
    VariationalConv2d,
    VariationalLinear,
    VariationalMethod,
    kl_sparse_vd,
    named_weight_layers,
)
from methodlib.models import Layers


class SparseVD(VariationalMethod):
    Config = SparseVDConfig
    config: SparseVDConfig

    @staticmethod
    def kl_per_weight(log_alpha: torch.Tensor) -> torch.Tensor:
        return kl_sparse_vd(log_alpha)

    def layers(self) -> Layers:
        c = self.config
        return ReplacingLayers(VariationalLinear, VariationalConv2d, c.log_sigma2_init, c.threshold)

    def kl(self, model: nn.Module) -> torch.Tensor:
        layers = named_weight_layers(model).values()
        return sum(self.kl_per_weight(layer.log_alpha).sum() for layer in layers)

    def unit_statistics(self, model: nn.Module) -> dict[str, tuple[torch.Tensor, float, str]]:
        return {
            name: (layer.log_alpha.detach().flatten().cpu(), self.config.threshold, "log α")
            for name, layer in named_weight_layers(model).items()
        }
