"""The word_lm task's evaluation against direct computations: the corpus perplexity per word
weighs texts by their words, and metrics.json reads the saved NLL and the run's compression."""

from __future__ import annotations

import math

import numpy as np
import pytest

from methodlib.routines.word_lm_eval import evaluate_word_lm, perplexity


def test_perplexity_weighs_texts_by_their_words():
    ppl, log_ppl = perplexity(np.array([6.0, 2.0]), np.array([3, 1]))
    assert log_ppl == pytest.approx(2.0) and ppl == pytest.approx(math.exp(2.0))


def test_evaluation_reads_the_saved_nll(tmp_path):
    np.savez(
        tmp_path / "predictions.npz",
        nll=np.array([3.0, 5.0]),
        words=np.array([2, 2]),
        vocabulary_size=np.array(8),
    )
    record = {
        "experiment": "e",
        "seed": 0,
        "config_hash": "h",
        "train_seconds": 1.0,
        "model_stats": {"params": 10, "compression": 4.0},
    }
    metrics = evaluate_word_lm(tmp_path, record)["metrics"]
    assert metrics["test_perplexity"] == pytest.approx(math.exp(2.0))
    assert metrics["test_words"] == 4 and metrics["vocabulary_size"] == 8
    assert metrics["compression"] == 4.0
