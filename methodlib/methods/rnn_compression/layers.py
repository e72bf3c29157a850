"""The variational layers of Bayesian LSTM compression and what is counted after training.

They reuse sparse VD's layer mix-in (`methods/pruning/variational.py`: `weight` is the
posterior mean θ, `log_sigma2` its log variance, `log_alpha` = log σ² − log θ² clipped to
[−8, 8], `pruned_weight` zero where log α ≥ threshold) and its KL approximation
(`kl_sparse_vd`, Molchanov et al. 2017). What differs for an RNN is how the noise is drawn:
the embedding and the LSTM matrices take one weight sample per mini-batch (`sampled_weight`),
shared over the time steps and the examples, as the reference code does; the output layer
keeps sparse VD's local reparameterisation (`VariationalLinear`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.base import PAD
from methodlib.methods.pruning.variational import (
    VariationalLinear,
    _Variational,
    kl_sparse_vd,
)
from methodlib.models.lstm import LSTMClassifier, LSTMSize


def _sampled_weight(layer: _Variational) -> torch.Tensor:
    """θ + σ·ε, one draw for the whole mini-batch, in training; the pruned mean at test."""
    if not layer.training:
        return layer.pruned_weight()
    return layer.weight + (0.5 * layer.log_sigma2).exp() * torch.randn_like(layer.weight)


class SampledLinear(VariationalLinear):
    """An LSTM weight matrix (input or recurrent): the LSTM reads `sampled_weight()`."""

    sampled_weight = _sampled_weight


class WordGate(_Variational, nn.Module):
    """SparseVD-Voc's multiplicative weight per word, z_w ~ N(μ_w, σ_w²) (μ is `weight`, so
    the mix-in's log α = log σ_w² − log μ_w² and pruning apply unchanged). Training draws z
    per example and word (every occurrence of a word in a text shares its draw); test uses μ,
    zero for words with log α_w ≥ threshold: they are out of the vocabulary. Both parameters
    are variational: a dense checkpoint lacks them (`init_from`)."""

    variational_parameters = ("weight", "log_sigma2")

    def __init__(self, words: int, log_sigma2_init: float, threshold: float):
        nn.Module.__init__(self)
        self.weight = nn.Parameter(torch.ones(words))
        self._init_variational(log_sigma2_init, threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The gate of each position of rows of word ids (B, T), shape (B, T, 1)."""
        if not self.training:
            return self.pruned_weight()[x].unsqueeze(-1)
        sigma = (0.5 * self.log_sigma2).exp()
        z = self.weight + sigma * torch.randn(len(x), len(self.weight), device=x.device)
        return z.gather(1, x).unsqueeze(-1)


class VariationalEmbedding(_Variational, nn.Embedding):
    """Word embeddings with a Gaussian posterior per entry, one draw per mini-batch, each
    word's row scaled by its `gate` (SparseVD-Voc) where there is one."""

    def __init__(
        self, words: int, width: int, log_sigma2_init: float, threshold: float, gate: bool
    ):
        nn.Embedding.__init__(self, words, width)
        nn.init.uniform_(self.weight, -0.05, 0.05)  # the reference's Uniform(0.05)
        self._init_variational(log_sigma2_init, threshold)
        self.gate = WordGate(words, log_sigma2_init, threshold) if gate else None

    sampled_weight = _sampled_weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = F.embedding(x, self.sampled_weight())
        return rows if self.gate is None else rows * self.gate(x)

    def effective_weight(self) -> torch.Tensor:
        """The test-time embedding matrix: pruned rows times the words' pruned gates."""
        if self.gate is None:
            return self.pruned_weight()
        return self.pruned_weight() * self.gate.pruned_weight().unsqueeze(1)


def lstm_classifier(
    size: LSTMSize,
    words: int,
    classes: int,
    variational: dict[str, float] | None = None,
    word_gate: bool = False,
    network: Callable[..., LSTMClassifier] = LSTMClassifier,
    gates: str = "sigmoid",
) -> LSTMClassifier:
    """The classifier of `size` over `words` word ids: plain layers, or (`variational` holding
    `log_sigma2_init` and `threshold`) sparse VD layers, with a `WordGate` if asked; `network`
    puts them together (a `LSTMLanguageModel`, whose `classes` are the words, for `word_lm`)
    with the `gates` nonlinearity."""
    e, h = size.embedding, size.hidden
    if variational is None:
        embedding = nn.Embedding(words, e)
        nn.init.uniform_(embedding.weight, -0.05, 0.05)
        layers = (nn.Linear(e, 4 * h), nn.Linear(h, 4 * h, bias=False), nn.Linear(h, classes))
        return network(embedding, *layers, pad=PAD, gates=gates)
    v = variational
    embedding = VariationalEmbedding(words, e, **v, gate=word_gate)
    hh = SampledLinear(h, 4 * h, **v)
    hh.register_parameter("bias", None)  # the input map carries the gate biases
    layers = (SampledLinear(e, 4 * h, **v), hh, VariationalLinear(h, classes, **v))
    return network(embedding, *layers, pad=PAD, gates=gates)


def variational_kl(model: nn.Module) -> torch.Tensor:
    """Σ KL over every variational weight and word gate of the model (Molchanov's fit)."""
    return sum(
        kl_sparse_vd(m.log_alpha).sum() for m in model.modules() if isinstance(m, _Variational)
    )


def _test_weight(layer: nn.Module) -> torch.Tensor:
    """A layer's weight at test time: zero where log α ≥ threshold (a variational layer)."""
    return layer.pruned_weight() if hasattr(layer, "pruned_weight") else layer.weight


def _weight_layers(model: LSTMClassifier) -> dict[str, nn.Module]:
    """The four weight matrices' layers, by the names the metrics use."""
    return {"embedding": model.embedding, "ih": model.ih, "hh": model.hh, "out": model.out}


def effective_matrices(model: LSTMClassifier) -> dict[str, torch.Tensor]:
    """The weight matrices used at test time: embedding (words × width, rows of dropped words
    zeroed), LSTM input and recurrent maps, output layer. Biases are not counted (the paper
    counts weights)."""

    def matrix(layer: nn.Module) -> torch.Tensor:
        if hasattr(layer, "effective_weight"):
            return layer.effective_weight()
        return _test_weight(layer)

    return {name: matrix(layer).detach() for name, layer in _weight_layers(model).items()}


@torch.no_grad()
def compression_masks(model: LSTMClassifier) -> dict[str, torch.Tensor]:
    """Which weights and units the test-time network keeps, counted as the reference code's
    `compute_compression_masks` (tipt0p/SparseBayesianRNN, `Code/classification_net.py`):
    a weight survives its own log α test and the units it connects must be alive.

    - `vocabulary`: the words kept (SparseVD-Voc: the word's gate; else a kept weight in its
      embedding row);
    - `embedding_dims`: the embedding dimensions with a kept weight in their embedding column
      that the LSTM also reads (a kept weight in the input map's column);
    - `hidden`: the hidden units that feed something (a kept recurrent weight leaving them or
      a kept output weight), the reference's "if a hidden neuron doesn't influence the LSTM,
      there is no guarantee it doesn't influence the dense layer";
    - the four weight masks, each zero where it meets a dead word, dimension or unit: the
      embedding's rows of dropped words and columns of dead dimensions, the input map's
      columns of dead dimensions and rows (in all four gates) of dead units, the recurrent
      map's rows and columns of dead units, the output layer's columns of dead units.

    One pass, as the reference's: a unit whose only outgoing weights go to dead units stays
    alive."""
    kept = {name: _test_weight(layer) != 0 for name, layer in _weight_layers(model).items()}
    gate = getattr(model.embedding, "gate", None)
    vocabulary = kept["embedding"].any(dim=1) if gate is None else gate.pruned_weight() != 0
    dims = kept["embedding"].any(dim=0) & kept["ih"].any(dim=0)
    hidden = kept["hh"].any(dim=0) | kept["out"].any(dim=0)
    units = len(hidden)
    kept["embedding"][~vocabulary] = False
    kept["embedding"][:, ~dims] = False
    kept["ih"][:, ~dims] = False
    kept["ih"].view(4, units, -1)[:, ~hidden] = False
    kept["hh"][:, ~hidden] = False
    kept["hh"].view(4, units, units)[:, ~hidden] = False
    kept["out"][:, ~hidden] = False
    return {"vocabulary": vocabulary, "embedding_dims": dims, "hidden": hidden, **kept}


@torch.no_grad()
def compression_stats(model: LSTMClassifier, specials: int) -> dict[str, float]:
    """Compression = all weights / kept weights of the four matrices (`compression_masks`:
    weights tied to dead words, embedding dimensions and hidden units count as zero, as the
    reference counts them); the kept vocabulary = words (specials excluded) the reference's
    vocabulary mask keeps; kept hidden units = units that feed the recurrence or the output."""
    masks = compression_masks(model)
    weights = [masks[name] for name in ("embedding", "ih", "hh", "out")]
    total = sum(m.numel() for m in weights)
    nonzero = sum(int(m.sum()) for m in weights)
    words = masks["vocabulary"][specials:]
    return {
        "compression": total / max(nonzero, 1),
        "nonzero_weights": nonzero,
        "kept_vocabulary": int(words.sum()),
        "kept_vocabulary_fraction": float(words.float().mean()),
        "kept_embedding_dims": int(masks["embedding_dims"].sum()),
        "kept_hidden": int(masks["hidden"].sum()),
    }


@torch.no_grad()
def word_scores(model: LSTMClassifier, specials: int) -> torch.Tensor:
    """How much each word alone says for each class: the logits of a one-word text, centred
    over the classes (words × classes); the specials and dropped words score 0."""
    was_training = model.training
    model.eval()
    kept = (effective_matrices(model)["embedding"] != 0).any(dim=1)
    logits = model(torch.arange(len(kept), device=kept.device).unsqueeze(1))
    model.train(was_training)
    scores = logits - logits.mean(dim=1, keepdim=True)
    kept[:specials] = False
    return scores * kept.unsqueeze(1)
