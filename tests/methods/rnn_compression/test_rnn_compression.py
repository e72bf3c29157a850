"""The LSTM compression methods against direct computations: the KL (Molchanov's fit and the
reference code's variant), log α clipping, the test-time mask at the threshold, the word
gates' moments, the compression count of a hand-set network, and the LSTM recurrence against
torch's own LSTM."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from methodlib.methods.base import PAD
from methodlib.methods.rnn_compression.base import SPECIALS
from methodlib.methods.rnn_compression.configs import DenseLSTMConfig, SparseVDLSTMConfig
from methodlib.methods.rnn_compression.layers import (
    SampledLinear,
    WordGate,
    compression_masks,
    compression_stats,
    lstm_classifier,
    variational_kl,
    word_scores,
)
from methodlib.models.lstm import LSTMSize

SIZE = LSTMSize(embedding=3, hidden=2)
VARIATIONAL = {"log_sigma2_init": -6.0, "threshold": 3.0}


def kl_direct(log_alpha: torch.Tensor) -> torch.Tensor:
    """Molchanov et al. (2017), eq. 14: −KL ≈ k1·σ(k2 + k3·log α) − ½·log(1 + 1/α) − k1."""
    k1, k2, k3 = 0.63576, 1.87320, 1.48695
    sigmoid = 1 / (1 + torch.exp(-(k2 + k3 * log_alpha)))
    return -(k1 * sigmoid - 0.5 * torch.log1p(torch.exp(-log_alpha)) - k1)


def network(word_gate: bool = False, words: int = 10, classes: int = 3):
    torch.manual_seed(0)
    return lstm_classifier(SIZE, words, classes, VARIATIONAL, word_gate)


def test_kl_is_the_sum_of_molchanovs_fit_over_every_variational_matrix_and_gate():
    model = network(word_gate=True)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-2, 2)
    expected = 0.0
    for prefix in ("embedding", "embedding.gate", "ih", "hh", "out"):
        module = model.get_submodule(prefix)
        log_alpha = (module.log_sigma2 - torch.log(module.weight**2 + 1e-16)).clamp(-8, 8)
        expected += kl_direct(log_alpha).sum()
    torch.testing.assert_close(variational_kl(model), expected)


def test_reference_kl_differs_from_molchanovs_by_a_constant():
    a = torch.linspace(-8, 8, 2001)
    reference = 0.5 * torch.log1p(torch.exp(-a)) - (0.03 + 0.64 * torch.sigmoid(1.5 * (a + 1.3)))
    gap = kl_direct(a) - reference
    assert gap.min() > 0.665 and gap.max() < 0.679


def test_log_alpha_is_clipped_to_plus_minus_eight():
    layer = SampledLinear(2, 2, **VARIATIONAL)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1e-6, 1.0], [1.0, 1.0]]))
        layer.log_sigma2.copy_(torch.tensor([[0.0, -20.0], [0.0, 1.0]]))
    expected = torch.tensor([[8.0, -8.0], [0.0, 1.0]])
    torch.testing.assert_close(layer.log_alpha, expected)


def test_weights_at_or_above_the_threshold_are_zeroed_at_test_and_lstm_reads_them():
    model = network()
    with torch.no_grad():  # log α = log σ² − log θ² with θ = 1: exactly log σ²
        model.hh.weight.fill_(1.0)
        model.hh.log_sigma2.fill_(-1.0)
        model.hh.log_sigma2[0, 0] = 3.0  # at the threshold: dropped
        model.hh.log_sigma2[1, 1] = 2.99  # just below: kept
    model.eval()
    pruned = model.hh.sampled_weight()
    assert pruned[0, 0] == 0 and pruned[1, 1] == 1 and int((pruned == 0).sum()) == 1
    model.train()
    torch.manual_seed(1)
    draws = torch.stack([model.hh.sampled_weight() for _ in range(4000)])
    torch.testing.assert_close(draws.mean(0), model.hh.weight, atol=0.15, rtol=0)
    torch.testing.assert_close(draws.std(0)[0, 0], torch.tensor(math.exp(1.5)), rtol=0.05, atol=0)


def test_word_gate_draws_per_example_and_word_and_drops_words_at_test():
    gate = WordGate(4, **VARIATIONAL)
    with torch.no_grad():
        gate.weight.copy_(torch.tensor([1.0, 2.0, 1.0, 0.5]))
        gate.log_sigma2.copy_(torch.tensor([math.log(0.09), math.log(0.16), 3.5, -9.0]))
    x = torch.tensor([[1, 1, 3]] * 20000)
    torch.manual_seed(0)
    z = gate(x).squeeze(-1)
    assert torch.equal(z[:, 0], z[:, 1])  # one draw per word per example
    torch.testing.assert_close(z[:, 0].mean(), torch.tensor(2.0), atol=0.01, rtol=0)
    torch.testing.assert_close(z[:, 0].std(), torch.tensor(0.4), atol=0.01, rtol=0)
    gate.eval()  # word 2: log α = 3.5 ≥ 3, dropped; the others keep their mean
    torch.testing.assert_close(
        gate(torch.tensor([[0, 1, 2, 3]])).flatten(), torch.tensor([1.0, 2.0, 0.0, 0.5])
    )


def test_compression_and_kept_vocabulary_of_a_hand_set_network():
    words, classes = 10, 3
    model = network(word_gate=True, words=words, classes=classes)
    with torch.no_grad():
        for prefix in ("embedding", "embedding.gate", "ih", "hh", "out"):
            module = model.get_submodule(prefix)
            module.weight.fill_(1.0)
            module.log_sigma2.fill_(5.0)  # everything dropped ...
        model.embedding.log_sigma2[4:7, 0] = 0.0  # ... but 3 entries of words 4–6
        model.embedding.gate.log_sigma2[4:6] = 0.0  # word 6's gate is dropped
        model.ih.log_sigma2[:, 0] = 0.0  # 8 input weights, from embedding dimension 0
        model.hh.log_sigma2[1, 1] = 0.0  # unit 1 feeds unit 1's input gate
        model.out.log_sigma2[1, 1] = 0.0  # one output weight, from hidden unit 1
    stats = compression_stats(model, SPECIALS)
    total = words * 3 + 3 * 8 + 2 * 8 + 2 * classes
    # unit 0 feeds nothing, so its 4 input rows go (4 of the 8 input weights survive)
    assert stats["nonzero_weights"] == 2 + 4 + 1 + 1
    assert stats["compression"] == pytest.approx(total / 8)
    assert stats["kept_vocabulary"] == 2 and stats["kept_hidden"] == 1
    assert stats["kept_embedding_dims"] == 1
    assert stats["kept_vocabulary_fraction"] == pytest.approx(2 / (words - SPECIALS))
    scores = word_scores(model, SPECIALS)
    assert (scores[[0, 1, 2, 3, 6, 7, 8, 9]] == 0).all()
    torch.testing.assert_close(scores.sum(1), torch.zeros(words))


def test_weights_tied_to_dead_embedding_dimensions_and_units_count_as_zero():
    """The reference's `compute_compression_masks` (tipt0p/SparseBayesianRNN,
    `Code/classification_net.py`): a dimension of the embedding that the LSTM does not read
    takes its embedding column with it, one that no word writes takes the input map's column;
    a hidden unit that feeds neither the recurrence nor the output takes its rows of the input
    and recurrent maps (all four gates) with it. Each surviving weight is then counted."""
    model = network(words=8, classes=2)  # SIZE: 3 dimensions, 2 units
    with torch.no_grad():
        for prefix in ("embedding", "ih", "hh", "out"):
            model.get_submodule(prefix).weight.fill_(1.0)
            model.get_submodule(prefix).log_sigma2.fill_(-6.0)  # everything kept ...
        model.ih.log_sigma2[:, 2] = 5.0  # ... but the LSTM never reads dimension 2
        model.embedding.log_sigma2[:, 1] = 5.0  # no word writes dimension 1
        model.hh.log_sigma2[:, 0] = 5.0  # unit 0 feeds no gate
        model.out.log_sigma2[:, 0] = 5.0  # nor the output
    masks = compression_masks(model)
    assert masks["embedding_dims"].tolist() == [True, False, False]
    assert masks["hidden"].tolist() == [False, True]
    assert masks["vocabulary"].all()
    embedding = 8 * 1  # column 0 only: column 2 is unread, column 1 unwritten
    ih = 4 * 1 * 1  # unit 1's 4 gate rows, column 0
    hh = 4 * 1  # unit 1's 4 gate rows, from unit 1
    out = 2 * 1  # from unit 1
    kept = embedding + ih + hh + out
    stats = compression_stats(model, SPECIALS)
    assert stats["nonzero_weights"] == kept
    total = 8 * 3 + 8 * 3 + 8 * 2 + 2 * 2
    assert stats["compression"] == pytest.approx(total / kept)
    assert stats["kept_embedding_dims"] == 1 and stats["kept_hidden"] == 1
    unit0_rows = torch.arange(4) * 2  # unit 0's row in each gate block
    assert not masks["ih"][unit0_rows].any() and not masks["hh"][unit0_rows].any()


def test_dense_recurrence_matches_torch_lstm_and_ignores_padding():
    torch.manual_seed(0)
    model = lstm_classifier(LSTMSize(4, 5), 12, 3)
    reference = nn.LSTM(4, 5, batch_first=True)
    with torch.no_grad():
        reference.weight_ih_l0.copy_(model.ih.weight)
        reference.bias_ih_l0.copy_(model.ih.bias)
        reference.weight_hh_l0.copy_(model.hh.weight)
        reference.bias_hh_l0.zero_()
    x = torch.tensor([[4, 5, 6, 7], [8, 9, 10, PAD]])
    logits = model(x)
    hidden = reference(model.embedding(x[:1]))[0][:, -1]
    torch.testing.assert_close(logits[:1], model.out(hidden))
    short = reference(model.embedding(x[1:, :3]))[0][:, -1]
    torch.testing.assert_close(logits[1:], model.out(short))


def test_one_weight_draw_per_forward_pass(monkeypatch):
    model = network()
    calls = []
    original = SampledLinear.sampled_weight
    monkeypatch.setattr(SampledLinear, "sampled_weight", lambda s: calls.append(s) or original(s))
    model(torch.tensor([[4, 5, 6, 7, 8, 9]]))
    assert len(calls) == 2  # ih and hh once each, not once per time step


def test_classifier_gates_are_the_references_hard_sigmoid():
    """The reference's classifier LSTM (`Code/layers_lstm.py`) gates with Theano's hard sigmoid,
    clip(0.2·x + 0.5, 0, 1): one step of `gates: hard_sigmoid` against that formula."""
    assert (
        SparseVDLSTMConfig().gates == "hard_sigmoid" and DenseLSTMConfig().gates == "hard_sigmoid"
    )
    torch.manual_seed(0)
    model = lstm_classifier(LSTMSize(3, 2), 8, 2, gates="hard_sigmoid")
    x = torch.tensor([[5]])
    i, f, g, o = model.ih(model.embedding(x)[:, 0]).chunk(4, dim=1)
    with torch.no_grad():
        i, f, g, o = (4 * i, 4 * f, g, 4 * o)  # widen the logits past the clip
        model.ih.weight[torch.arange(8) // 2 != 2] *= 4
        model.ih.bias[torch.arange(8) // 2 != 2] *= 4
    gate = lambda z: (0.2 * z + 0.5).clamp(0, 1)  # noqa: E731
    h = gate(o) * torch.tanh(gate(i) * torch.tanh(g))
    torch.testing.assert_close(model(x), model.out(h))
