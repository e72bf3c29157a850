"""LSTM text classifiers (Chirkova, Lobacheva, Vetrov 2018): word embedding → one LSTM layer →
linear map of the last hidden state to the classes.

A size (`LSTMSize`) is what a pipeline file's `model:` names for `text_classification`:
`lstm_small` (the CPU study) and `lstm_imdb` (the paper's IMDB network: 300-dimensional
embeddings, 128 hidden units); `lstm_lm_small` and `lstm_lm_ptb` for the word-level language
models of `word_lm` (`LSTMLanguageModel`: the same layers, logits of the next word at every
position). The layers are given by the method: plain ones for the dense
baseline, variational ones for sparse VD (`methods/rnn_compression/layers.py`). The LSTM reads
its weight matrices through `weight_of`, once per forward pass, so a method with weight noise
draws one weight sample per mini-batch, shared over the time steps (the reference code's
choice, Gal and Ghahramani's for RNNs), rather than fresh noise at every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Theano's `T.nnet.hard_sigmoid`, the reference code's gate: clip(0.2·x + 0.5, 0, 1)
    (torch's `hardsigmoid` has slope 1/6, another function)."""
    return (0.2 * x + 0.5).clamp(0.0, 1.0)


GATES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": hard_sigmoid,
}
"""The gate nonlinearities a method's `gates:` names (input, forget and output gates)."""


@dataclass(frozen=True)
class LSTMSize:
    """Embedding width and hidden units."""

    embedding: int
    hidden: int


LSTM_SIZES: dict[str, LSTMSize] = {
    "lstm_small": LSTMSize(embedding=64, hidden=64),
    "lstm_imdb": LSTMSize(embedding=300, hidden=128),
    "lstm_lm_small": LSTMSize(embedding=64, hidden=64),
    "lstm_lm_ptb": LSTMSize(embedding=256, hidden=256),
}
"""`lstm_lm_*` are the `word_lm` sizes (`LSTMLanguageModel`): the CPU study's and the paper's
word-level Penn Treebank network (one LSTM layer of 256 units)."""


def weight_of(layer: nn.Module) -> torch.Tensor:
    """The weight matrix a forward pass uses: the layer's `sampled_weight()` where it has one
    (a variational layer: a draw in training, the pruned mean at test), else its `weight`."""
    sampled = getattr(layer, "sampled_weight", None)
    return sampled() if sampled is not None else layer.weight


class LSTMClassifier(nn.Module):
    """`embedding` maps rows of word ids (B, T) to (B, T, E); `ih` (E → 4H, with the gate
    biases) and `hh` (H → 4H, no bias) hold the LSTM's input and recurrent weights, gates in
    the order input, forget, cell, output; `out` maps the hidden state after each row's last
    word to class logits. Positions holding the `pad` id leave the state unchanged. `gates`
    names the input, forget and output gates' nonlinearity (`GATES`)."""

    def __init__(
        self,
        embedding: nn.Module,
        ih: nn.Linear,
        hh: nn.Linear,
        out: nn.Linear,
        pad: int,
        gates: str = "sigmoid",
    ):
        super().__init__()
        self.pad = pad
        self.gate = GATES[gates]
        self.embedding, self.ih, self.hh, self.out = embedding, ih, hh, out
        hidden = hh.weight.shape[1]
        with torch.no_grad():  # the reference's initialisation: forget-gate bias 1,
            ih.bias.zero_()  # orthogonal recurrent blocks with gain 1.1
            ih.bias[hidden : 2 * hidden] = 1.0
            for block in hh.weight.view(4, hidden, hidden):
                nn.init.orthogonal_(block, gain=1.1)

    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden state after each position of rows of word ids (B, T) → (B, T, H)."""
        mask = (x != self.pad).unsqueeze(-1)
        inputs = nn.functional.linear(self.embedding(x), weight_of(self.ih), self.ih.bias)
        w_hh = weight_of(self.hh)
        h = inputs.new_zeros(len(x), w_hh.shape[1])
        c = torch.zeros_like(h)
        states = []
        for t in range(x.shape[1]):
            gates = inputs[:, t] + h @ w_hh.T
            i, f, g, o = gates.chunk(4, dim=1)
            c_new = self.gate(f) * c + self.gate(i) * torch.tanh(g)
            h_new = self.gate(o) * torch.tanh(c_new)
            c = torch.where(mask[:, t], c_new, c)
            h = torch.where(mask[:, t], h_new, h)
            states.append(h)
        return torch.stack(states, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden_states(x)[:, -1])


class LSTMLanguageModel(LSTMClassifier):
    """The same layers as a word-level language model (`word_lm`): `out` maps the state after
    each position to logits over the vocabulary. `forward` reads `[CLS] w1 .. w(T-1)` (the
    row shifted right behind the start token `bos`) and returns, at each position t, the
    logits of the row's word t (B, T, V), so that every word of a text, the first included,
    is predicted from the words before it; positions holding `pad` are not scored (the
    method's `token_nll`)."""

    def __init__(self, *layers: nn.Module, pad: int, bos: int, gates: str = "sigmoid"):
        super().__init__(*layers, pad=pad, gates=gates)
        self.bos = bos

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shifted = torch.cat([torch.full_like(x[:, :1], self.bos), x[:, :-1]], dim=1)
        return self.out(self.hidden_states(shifted))
