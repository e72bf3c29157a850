"""The autoregressive LM: its per-token NLL (the judge's), causality, nucleus sampling, and a
short training run after which its samples are its training rows."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from methodlib.methods.base import CLS, PAD, SEP, ClassifierMethod, StepContext
from methodlib.methods.text.ar_lm import ArLM, ArLMConfig, nucleus, token_nll
from tests.methods.text.text_helpers import text_batch, text_info


def method_and_model(**fields):
    torch.manual_seed(0)
    method = ArLM(ArLMConfig(**fields), "transformer_tiny", text_info(8))
    return method, method.build_model().eval()


def test_token_nll_is_the_next_token_cross_entropy_and_zero_at_padding():
    method, model = method_and_model()
    x, lengths = text_batch(method.info, 6)
    nll = token_nll(model, x)
    assert nll.shape == (6, 7)
    log_probs = F.log_softmax(model(x), dim=-1)[:, :-1]
    expected = -log_probs.gather(2, x[:, 1:, None]).squeeze(2) * (x[:, 1:] != PAD)
    torch.testing.assert_close(nll, expected)
    assert (nll[x[:, 1:] == PAD] == 0).all() and (nll[x[:, 1:] != PAD] > 0).all()
    row_means = nll.sum(1) / (lengths - 1)
    torch.testing.assert_close(method.losses(model, x, lengths), row_means)


def test_a_tokens_nll_depends_on_its_prefix_only():
    method, model = method_and_model()
    x, _ = text_batch(method.info, 4)
    changed = x.clone()
    changed[:, 5] = 4 + (x[:, 5] - 3) % 40
    torch.testing.assert_close(token_nll(model, changed)[:, :4], token_nll(model, x)[:, :4])


def test_nucleus_keeps_the_smallest_set_reaching_top_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = torch.isfinite(nucleus(logits, 0.7))
    assert kept.tolist() == [[True, True, False, False]]
    assert torch.isfinite(nucleus(logits, 0.5)).sum() == 1
    torch.testing.assert_close(nucleus(logits, 1.0), logits)


def test_generated_rows_are_cls_words_sep_then_padding():
    method, model = method_and_model()
    ids = method.generate(model, 50, "cpu")
    assert ids.shape == (50, 8) and (ids[:, 0] == CLS).all()
    assert not (ids[:, 1:] == CLS).any()
    for row in ids.tolist():
        if SEP in row:
            end = row.index(SEP)
            assert PAD not in row[:end] and set(row[end + 1 :]) <= {PAD}
        else:
            assert PAD not in row


def test_training_memorises_rows_and_greedy_sampling_returns_them():
    method, model = method_and_model(top_p=0.01)  # nucleus of one token: greedy decoding
    x, lengths = text_batch(method.info, 1)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(60):
        loss = method.loss(model, x, lengths, StepContext(0, step, 60, 1, 1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    model.eval()
    torch.testing.assert_close(method.generate(model, 3, "cpu"), x.expand(3, -1))


def test_no_class_probabilities():
    """A text method is no classifier: the classification hooks are not there to misuse."""
    method, _ = method_and_model()
    assert not isinstance(method, ClassifierMethod)
    assert not hasattr(method, "predict_proba")
