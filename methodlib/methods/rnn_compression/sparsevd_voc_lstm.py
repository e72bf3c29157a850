"""`sparsevd_voc_lstm`: SparseVD-Voc (Chirkova, Lobacheva, Vetrov 2018): sparse VD of every
weight plus a multiplicative Gaussian weight z_w per word of the vocabulary, with its own
log α_w and the same log-uniform prior and KL. A word whose log α_w reaches the threshold is
dropped: its embedding row is never read, so the vocabulary shrinks to the informative words
(the paper keeps 265 of IMDB's 20,003)."""

from __future__ import annotations

from methodlib.methods.rnn_compression.configs import SparseVDVocLSTMConfig
from methodlib.methods.rnn_compression.sparsevd_lstm import SparseVDLSTM


class SparseVDVocLSTM(SparseVDLSTM):
    Config = SparseVDVocLSTMConfig
    config: SparseVDVocLSTMConfig
    word_gate = True
