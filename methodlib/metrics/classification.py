"""Metrics of classification outputs with a samples axis.

`probs` has shape (samples, examples, classes): the predictive distribution is the mean over
samples (MC draws, ensemble members, snapshots), and every metric is computed from it.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def predictive(probs: np.ndarray) -> np.ndarray:
    if probs.ndim != 3:
        raise ValueError(
            f"expected probabilities of shape (samples, examples, classes), got {probs.shape}"
        )
    return probs.mean(axis=0, dtype=np.float64)


def accuracy(p: np.ndarray, labels: np.ndarray) -> float:
    return float((p.argmax(axis=1) == labels).mean())


def nll(p: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class, in nats."""
    return float(-np.log(np.clip(p[np.arange(len(labels)), labels], EPS, None)).mean())


def brier(p: np.ndarray, labels: np.ndarray) -> float:
    """Squared error against the one-hot label, summed over classes, averaged over examples."""
    onehot = np.eye(p.shape[1])[labels]
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def classification_metrics(
    probs: np.ndarray, labels: np.ndarray, prefix: str = "test"
) -> dict[str, float]:
    p = predictive(probs)
    acc = accuracy(p, labels)
    return {
        f"{prefix}_accuracy": acc,
        f"{prefix}_error": 1.0 - acc,
        f"{prefix}_nll": nll(p, labels),
        f"{prefix}_brier": brier(p, labels),
    }
