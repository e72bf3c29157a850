"""Classification metrics against reference computations, with the samples axis."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss

from methodlib.metrics.classification import EPS, classification_metrics, predictive

N_CLASSES = 4


def random_probs(samples: int, examples: int, seed: int = 0) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=(samples, examples, N_CLASSES)) * 2
    exp = np.exp(logits)
    return exp / exp.sum(axis=-1, keepdims=True)


def random_labels(examples: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, N_CLASSES, examples)


def reference_brier(p: np.ndarray, labels: np.ndarray) -> float:
    total = 0.0
    for row, label in zip(p, labels, strict=True):
        total += sum((q - (k == label)) ** 2 for k, q in enumerate(row))
    return total / len(labels)


@pytest.mark.parametrize("samples", [1, 5])
def test_metrics_match_reference_computations(samples: int) -> None:
    probs, labels = random_probs(samples, 200), random_labels(200)
    p = probs.mean(axis=0)
    metrics = classification_metrics(probs, labels)
    assert metrics["test_accuracy"] == pytest.approx(accuracy_score(labels, p.argmax(axis=1)))
    assert metrics["test_error"] == pytest.approx(1 - metrics["test_accuracy"])
    assert metrics["test_nll"] == pytest.approx(
        log_loss(labels, p, labels=range(N_CLASSES)), rel=1e-9
    )
    assert metrics["test_brier"] == pytest.approx(reference_brier(p, labels), rel=1e-9)


def test_samples_are_averaged_before_the_metric() -> None:
    # two confident members that disagree: each alone is wrong on one example, together unsure
    members = np.array([[[0.9, 0.1], [0.9, 0.1]], [[0.1, 0.9], [0.1, 0.9]]])
    labels = np.array([0, 1])
    ensemble = classification_metrics(members, labels)
    assert ensemble == classification_metrics(members.mean(axis=0, keepdims=True), labels)
    assert ensemble["test_nll"] == pytest.approx(-np.log(0.5))
    assert ensemble["test_brier"] == pytest.approx(0.5)
    member_nll = np.mean([classification_metrics(m[None], labels)["test_nll"] for m in members])
    assert member_nll == pytest.approx((-np.log(0.9) - np.log(0.1)) / 2)
    assert ensemble["test_nll"] < member_nll


def test_hand_computed_values() -> None:
    probs = np.array([[[0.7, 0.2, 0.1], [0.3, 0.3, 0.4], [0.1, 0.8, 0.1]]])
    labels = np.array([0, 1, 1])
    metrics = classification_metrics(probs, labels, prefix="val")
    assert set(metrics) == {"val_accuracy", "val_error", "val_nll", "val_brier"}
    assert metrics["val_accuracy"] == pytest.approx(2 / 3)
    assert metrics["val_nll"] == pytest.approx(-(np.log(0.7) + np.log(0.3) + np.log(0.8)) / 3)
    brier = (0.3**2 + 0.2**2 + 0.1**2) + (0.3**2 + 0.7**2 + 0.4**2) + (0.1**2 + 0.2**2 + 0.1**2)
    assert metrics["val_brier"] == pytest.approx(brier / 3)


def test_zero_probability_of_the_true_class_is_clipped() -> None:
    probs = np.array([[[1.0, 0.0], [0.5, 0.5]]])
    metrics = classification_metrics(probs, np.array([1, 0]))
    assert np.isfinite(metrics["test_nll"])
    assert metrics["test_nll"] == pytest.approx((-np.log(EPS) - np.log(0.5)) / 2)
    assert metrics["test_brier"] == pytest.approx((2.0 + 0.5) / 2)


def test_float32_inputs_are_averaged_in_float64() -> None:
    probs = random_probs(8, 50).astype(np.float32)
    assert predictive(probs).dtype == np.float64


@pytest.mark.parametrize("shape", [(10, N_CLASSES), (2, 3, 10, N_CLASSES), (N_CLASSES,)])
def test_probabilities_without_a_samples_axis_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"\(samples, examples, classes\)"):
        classification_metrics(np.full(shape, 1 / N_CLASSES), np.zeros(10, dtype=int))
