"""LSTM text classifiers (Chirkova, Lobacheva, Vetrov 2018): word embedding → one LSTM layer →
linear map of the last hidden state to the classes.

A size (`LSTMSize`) is what a pipeline file's `model:` names for `text_classification`:
`lstm_small` (the CPU study) and `lstm_imdb` (the paper's IMDB network: 300-dimensional
embeddings, 128 hidden units). The layers are given by the method: plain ones for the dense
baseline, variational ones for sparse VD (`methods/rnn_compression/layers.py`). The LSTM reads
its weight matrices through `weight_of`, once per forward pass, so a method with weight noise
draws one weight sample per mini-batch, shared over the time steps (the reference code's
choice, Gal and Ghahramani's for RNNs), rather than fresh noise at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LSTMSize:
    """Embedding width and hidden units."""

    embedding: int
    hidden: int


LSTM_SIZES: dict[str, LSTMSize] = {
    "lstm_small": LSTMSize(embedding=64, hidden=64),
    "lstm_imdb": LSTMSize(embedding=300, hidden=128),
}


def weight_of(layer: nn.Module) -> torch.Tensor:
    """The weight matrix a forward pass uses: the layer's `sampled_weight()` where it has one
    (a variational layer: a draw in training, the pruned mean at test), else its `weight`."""
    sampled = getattr(layer, "sampled_weight", None)
    return sampled() if sampled is not None else layer.weight


class LSTMClassifier(nn.Module):
    """`embedding` maps rows of word ids (B, T) to (B, T, E); `ih` (E → 4H, with the gate
    biases) and `hh` (H → 4H, no bias) hold the LSTM's input and recurrent weights, gates in
    the order input, forget, cell, output; `out` maps the hidden state after each row's last
    word to class logits. Positions holding the `pad` id leave the state unchanged."""

    def __init__(
        self, embedding: nn.Module, ih: nn.Linear, hh: nn.Linear, out: nn.Linear, pad: int
    ):
        super().__init__()
        self.pad = pad
        self.embedding, self.ih, self.hh, self.out = embedding, ih, hh, out
        hidden = hh.weight.shape[1]
        with torch.no_grad():  # the reference's initialisation: forget-gate bias 1,
            ih.bias.zero_()  # orthogonal recurrent blocks with gain 1.1
            ih.bias[hidden : 2 * hidden] = 1.0
            for block in hh.weight.view(4, hidden, hidden):
                nn.init.orthogonal_(block, gain=1.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = (x != self.pad).unsqueeze(-1)
        inputs = nn.functional.linear(self.embedding(x), weight_of(self.ih), self.ih.bias)
        w_hh = weight_of(self.hh)
        h = inputs.new_zeros(len(x), w_hh.shape[1])
        c = torch.zeros_like(h)
        for t in range(x.shape[1]):
            gates = inputs[:, t] + h @ w_hh.T
            i, f, g, o = gates.chunk(4, dim=1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            c = torch.where(mask[:, t], c_new, c)
            h = torch.where(mask[:, t], h_new, h)
        return self.out(h)
