"""`vd_ard`: variational dropout with an ARD prior (Kharitonov, Molchanov, Vetrov 2018).

"Variational Dropout via Empirical Bayes": sparse VD's layers under an automatic relevance
determination prior N(0, τ²) per weight whose variance is set to its optimum τ² = θ² + σ²,
which leaves KL = ½·log(1 + 1/α).
"""

from __future__ import annotations

import torch

from methodlib.methods.pruning.configs import VDARDConfig
from methodlib.methods.pruning.sparse_vd import SparseVD
from methodlib.methods.pruning.variational import kl_ard


class VDARD(SparseVD):
    Config = VDARDConfig

    @staticmethod
    def kl_per_weight(log_alpha: torch.Tensor) -> torch.Tensor:
        return kl_ard(log_alpha)
