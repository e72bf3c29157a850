"""Judge scores against hand-worked values and scipy's entropy as the reference KL."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import entropy

from methodlib.metrics.judge_scores import inception_score, recon_rmse, rid


def random_probs(n: int, classes: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(classes), size=n)


def test_inception_score_is_the_number_of_classes_for_confident_balanced_samples():
    probs = np.repeat(np.eye(4), 5, axis=0)
    assert inception_score(probs) == pytest.approx(4.0)


def test_inception_score_is_one_when_every_sample_looks_the_same():
    probs = np.tile([0.7, 0.2, 0.1], (10, 1))
    assert inception_score(probs) == pytest.approx(1.0)


def test_inception_score_matches_scipy_kl():
    probs = random_probs(50, 10, seed=0)
    marginal = probs.mean(0)
    expected = np.exp(np.mean([entropy(p, marginal) for p in probs]))
    assert inception_score(probs) == pytest.approx(expected, rel=1e-10)


def test_rid_is_the_mean_kl_from_originals_to_reconstructions():
    p_x, p_rec = random_probs(30, 10, seed=1), random_probs(30, 10, seed=2)
    expected = np.mean([entropy(p, q) for p, q in zip(p_x, p_rec, strict=True)])
    assert rid(p_x, p_rec) == pytest.approx(expected, rel=1e-10)
    assert rid(p_x, p_x) == pytest.approx(0.0, abs=1e-12)


def test_rid_stays_finite_when_a_reconstruction_loses_the_class_entirely():
    assert np.isfinite(rid(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])))


def test_rid_refuses_unpaired_rows():
    with pytest.raises(ValueError, match="paired"):
        rid(random_probs(3, 4, 0), random_probs(4, 4, 0))


def test_recon_rmse_by_hand():
    x = np.zeros((2, 1, 2, 2))
    x_rec = np.zeros_like(x)
    x_rec[0, 0, 0, 0] = 2.0  # one error of 2 over 8 pixels: sqrt(4 / 8)
    assert recon_rmse(x, x_rec) == pytest.approx(np.sqrt(0.5))
