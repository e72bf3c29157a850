"""The word-level LSTM language models against direct computations: each word's NLL is the
classifier's read-out of the prefix before it (the first word read after the start token),
padding is never scored, the perplexity is exp(Σ NLL / Σ words), SparseVD's objective is the
summed NLL per text plus β·KL/N, and a dense LM checkpoint starts the SparseVD LM."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from methodlib.methods import METHODS, DataInfo, StepContext
from methodlib.methods.base import CLS, PAD, TextInfo
from methodlib.methods.rnn_compression.layers import variational_kl
from methodlib.methods.rnn_compression.lm_base import text_nll, token_nll
from methodlib.models.lstm import LSTMClassifier
from methodlib.routines.word_lm_eval import perplexity

WORDS = 12
INFO = DataInfo((6,), 3, 40, "text", TextInfo("unused", tuple(range(WORDS)), 6))
ROWS = torch.tensor(
    [
        [5, 7, 9, 4, PAD, PAD],
        [11, 6, PAD, PAD, PAD, PAD],
        [8, 8, 10, 5, 6, 7],
    ]
)


def method(name: str, **settings):
    cls = METHODS[name]
    return cls(cls.Config(name=name, **settings), "lstm_lm_small", INFO)


def model_of(m):
    torch.manual_seed(0)
    model = m.build_model()
    with torch.no_grad():  # away from the uniform start, so that words differ
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model.eval()


def direct_nll(model) -> list[list[float]]:
    """Each word's −log p from the same layers used as a classifier of its prefix."""
    classifier = LSTMClassifier(model.embedding, model.ih, model.hh, model.out, pad=PAD)
    rows = []
    for row in ROWS.tolist():
        words = [w for w in row if w != PAD]
        nll = []
        for t, word in enumerate(words):
            prefix = torch.tensor([[CLS, *words[:t]]])
            nll.append(-F.log_softmax(classifier(prefix), dim=-1)[0, word].item())
        rows.append(nll)
    return rows


@pytest.mark.parametrize("name", ["dense_lstm_lm", "sparsevd_lstm_lm"])
def test_word_nll_is_the_prefix_readout_and_skips_padding(name):
    m = method(name)
    model = model_of(m)
    expected = direct_nll(model)
    got = m.token_nll(model, ROWS)
    for row, nll in enumerate(expected):
        torch.testing.assert_close(got[row, : len(nll)], torch.tensor(nll), rtol=1e-5, atol=1e-5)
        assert (got[row, len(nll) :] == 0).all()
    # more padding changes nothing
    padded = torch.cat([ROWS, torch.full((3, 4), PAD)], dim=1)
    torch.testing.assert_close(m.token_nll(model, padded)[:, :6], got)
    total = sum(sum(nll) for nll in expected)
    words = sum(len(nll) for nll in expected)
    ppl, log_ppl = perplexity(got.sum(1).numpy(), (ROWS != PAD).sum(1).numpy())
    assert words == 12
    assert ppl == pytest.approx(math.exp(total / words), rel=1e-5)
    assert log_ppl == pytest.approx(total / words, rel=1e-5)


def test_sparsevd_objective_is_text_nll_plus_weighted_kl():
    m = method("sparsevd_lstm_lm", kl_weight=0.5, kl_warmup=0.5)
    model = model_of(m)  # evaluation mode: the mean weights, so the data term is fixed
    ctx = StepContext(epoch=0, step=1, steps_per_epoch=4, epochs=2, n_train=40)
    beta = 0.5 * (1 / 8) / 0.5
    data = token_nll(model, ROWS).sum() / len(ROWS)
    expected = data + beta * variational_kl(model) / 40
    torch.testing.assert_close(m.loss(model, ROWS, torch.zeros(3), ctx), expected)
    torch.testing.assert_close(text_nll(model, ROWS), data)


def test_dense_lm_dense_loss_is_the_mean_text_nll():
    m = method("dense_lstm_lm")
    model = model_of(m)
    ctx = StepContext(epoch=0, step=0, steps_per_epoch=4, epochs=2, n_train=40)
    expected = sum(sum(n) for n in direct_nll(model)) / 3
    assert m.loss(model, ROWS, torch.zeros(3), ctx).item() == pytest.approx(expected, rel=1e-5)


def test_sparsevd_lm_starts_from_a_dense_lm():
    dense = model_of(method("dense_lstm_lm"))
    m = method("sparsevd_lstm_lm", log_sigma2_init=-8.0)
    sparse = m.build_model()
    m.init_from(sparse, dense.state_dict())
    state = sparse.state_dict()
    for key, value in dense.state_dict().items():
        torch.testing.assert_close(state[key], value, msg=key)
    assert sparse.out.weight.shape == (WORDS, 64)
