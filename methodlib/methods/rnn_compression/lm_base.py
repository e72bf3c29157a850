"""What the word-level LSTM language models (`dense_lstm_lm`, `sparsevd_lstm_lm`) share: the
classifiers' layers put together as an `LSTMLanguageModel` (the output layer over the words)
and the per-word negative log-likelihood, which their objectives and the `word_lm` task's
perplexity both read."""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.base import CLS, PAD, StepContext
from methodlib.methods.rnn_compression.base import LSTMMethod
from methodlib.models.lstm import LSTMLanguageModel


def token_nll(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """−log p(word t | the words before it) at every position of rows of word ids (B, T), 0
    at [PAD] positions: a padded position is no word, and the end of a text is not predicted
    (a row holding `max_len` words may be a truncated text, so no end-of-text token can be
    placed)."""
    logits = model(x)
    nll = F.cross_entropy(logits.flatten(0, 1), x.flatten(), reduction="none")
    return nll.view_as(x).float() * (x != PAD)


def text_nll(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The mean over the batch of each text's summed word NLL: the data term of the ELBO per
    text, so that a KL divided by the number of training texts weighs it as the paper does."""
    return token_nll(model, x).sum(dim=1).mean()


class LSTMLMMethod(LSTMMethod):
    """An LSTM language model of rows of word ids (the `word_lm` task): trained by maximum
    likelihood of every word given the words before it; the row's label is not read."""

    network = partial(LSTMLanguageModel, bos=CLS)

    def n_outputs(self) -> int:
        return len(self.info.text.vocab)

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        return text_nll(model, x)

    @torch.no_grad()
    def token_nll(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Test-time per-position NLL (B, T), 0 at padding (see `token_nll`)."""
        return token_nll(model, x)
