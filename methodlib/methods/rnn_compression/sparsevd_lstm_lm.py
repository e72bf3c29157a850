"""`sparsevd_lstm_lm`: sparse variational dropout of the word-level LSTM language model
(Chirkova, Lobacheva, Vetrov 2018, the word-level Penn Treebank experiment): every weight of
the embedding, the LSTM maps and the output layer over the words has a posterior N(θ, σ²)
under the log-uniform prior, with `sparsevd_lstm`'s layers, KL fit, log α clipping and
threshold. The objective is the ELBO per text: each text's summed word NLL (averaged over the
batch) plus β·KL/N, N the number of training texts, so that β = 1 is the paper's full KL."""

from __future__ import annotations

import torch
from torch import nn

from methodlib.methods.base import StepContext
from methodlib.methods.rnn_compression.configs import SparseVDLSTMLMConfig
from methodlib.methods.rnn_compression.lm_base import LSTMLMMethod, text_nll
from methodlib.methods.rnn_compression.sparsevd_lstm import SparseVDLSTM


class SparseVDLSTMLM(LSTMLMMethod, SparseVDLSTM):
    """`LSTMLMMethod`'s network and data term with `SparseVDLSTM`'s variational layers, KL,
    β warm-up, parameter groups, dense-checkpoint loading and compression metrics."""

    Config = SparseVDLSTMLMConfig
    config: SparseVDLSTMLMConfig

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        return text_nll(model, x) + self.beta(ctx) * self.kl(model) / ctx.n_train
