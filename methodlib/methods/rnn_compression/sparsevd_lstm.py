"""`sparsevd_lstm`: sparse variational dropout of an LSTM classifier (Chirkova, Lobacheva,
Vetrov 2018, "Bayesian Compression for Natural Language Processing"; code
tipt0p/SparseBayesianRNN).

Every weight of the embedding, the LSTM's input and recurrent maps and the output layer has a
posterior N(θ, σ²) under the log-uniform prior; the objective is NLL + β·KL/N with sparse VD's
KL fit (`kl_sparse_vd`). The reference code's KL is the same fit with rounded coefficients and
another constant, 0.5·log(1 + 1/α) − 0.64·σ(1.5·(log α + 1.3)) − 0.03: on log α ∈ [−8, 8] the
two differ by 0.666 to 0.678 per weight, a constant up to 0.012, so their gradients agree; the
project's helper is used. log α is clipped to [−8, 8] and weights with log α ≥ 3 are zeroed at
test, as in the reference.
"""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.pruning.variational import VariationalMethod
from methodlib.methods.rnn_compression.base import SPECIALS, LSTMMethod
from methodlib.methods.rnn_compression.configs import SparseVDLSTMConfig
from methodlib.methods.rnn_compression.layers import compression_stats, variational_kl


class SparseVDLSTM(LSTMMethod):
    """LSTMMethod's network and metrics with the Bayesian pruning methods' objective (NLL +
    β·KL/N, β warmed up over `kl_warmup`), parameter groups (`variational_lr_scale` for log σ²
    and the word gates) and dense-checkpoint loading, borrowed from `VariationalMethod`
    rather than inherited: that class also stands for "has per-layer pruning histograms over
    image inputs" (`variational_pruning`), which these text models do not draw."""

    Config = SparseVDLSTMConfig
    config: SparseVDLSTMConfig

    beta = VariationalMethod.beta
    loss = VariationalMethod.loss
    param_groups = VariationalMethod.param_groups
    init_from = VariationalMethod.init_from

    def variational(self) -> dict[str, float]:
        return {"log_sigma2_init": self.config.log_sigma2_init, "threshold": self.config.threshold}

    def kl(self, model: nn.Module) -> torch.Tensor:
        return variational_kl(model)

    @torch.no_grad()
    def epoch_metrics(self, model: nn.Module) -> dict[str, float]:
        return {
            "kl_per_example": self.kl(model).item() / self.info.n_train,
            "compression": compression_stats(model, SPECIALS)["compression"],
        }
