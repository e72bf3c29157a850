"""`dense_lstm_lm`: the uncompressed word-level LSTM language model (embedding → LSTM →
linear map to the vocabulary at every position), trained by maximum likelihood: the baseline
of the paper's word-level Penn Treebank experiment (Chirkova, Lobacheva, Vetrov 2018)."""

from __future__ import annotations

from methodlib.methods.rnn_compression.configs import DenseLSTMLMConfig
from methodlib.methods.rnn_compression.lm_base import LSTMLMMethod


class DenseLSTMLM(LSTMLMMethod):
    Config = DenseLSTMLMConfig
