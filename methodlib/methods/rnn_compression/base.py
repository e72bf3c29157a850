"""What the three LSTM classifiers share: the network of the experiment's `model:` size over
the dataset's word vocabulary, and the compression metrics of the finished run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from methodlib.errors import RunError
from methodlib.methods.base import ClassifierMethod, DataInfo
from methodlib.methods.rnn_compression.layers import (
    compression_stats,
    lstm_classifier,
    word_scores,
)
from methodlib.models.lstm import LSTM_SIZES, LSTMClassifier

SPECIALS = 4
"""[PAD], [CLS], [SEP], [UNK]: the first ids of every vocabulary, never counted as words."""


class LSTMMethod(ClassifierMethod):
    """An LSTM classifier of rows of word ids; subclasses say which layers it has."""

    def __init__(self, config: Any, model_name: str, info: DataInfo):
        if info.text is None:
            raise RunError(f"{self.name} classifies texts; the dataset has no word vocabulary")
        super().__init__(config, model_name, info)

    def variational(self) -> dict[str, float] | None:
        """The sparse VD layers' settings, or None for plain layers."""
        return None

    word_gate = False
    network: Callable[..., LSTMClassifier] = LSTMClassifier
    """What puts the layers together (`LSTMLanguageModel` for the language models)."""

    def n_outputs(self) -> int:
        """The output layer's width: the classes (the language models: the words)."""
        return self.info.n_classes

    def build_model(self) -> nn.Module:
        return lstm_classifier(
            LSTM_SIZES[self.model_name],
            len(self.info.text.vocab),
            self.n_outputs(),
            self.variational(),
            self.word_gate,
            type(self).network,
            self.config.gates,
        )

    @torch.no_grad()
    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        return compression_stats(model, SPECIALS)

    def word_scores(self, model: nn.Module) -> torch.Tensor:
        """Per word and class, what the word alone says for the class (the report's table)."""
        return word_scores(model, SPECIALS)
