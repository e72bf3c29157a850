"""`dense_lstm`: the uncompressed baseline, embedding → LSTM → linear, trained by maximum
likelihood (cross-entropy), as the reference code's all-deterministic configuration."""

from __future__ import annotations

from methodlib.methods.rnn_compression.base import LSTMMethod
from methodlib.methods.rnn_compression.configs import DenseLSTMConfig


class DenseLSTM(LSTMMethod):
    Config = DenseLSTMConfig
