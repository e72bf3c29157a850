"""Imputation metrics, as the VAEAC paper and its reference code compute them
(tigvarts/vaeac, `data/evaluate_results.py`).

Arrays: `truth` (N, *shape), `missing` (N, *shape) booleans (True = imputed), `imputations`
(K, N, *shape), K samples per example (K = 1 for a deterministic method). A column is one
coordinate of the flattened shape (a feature, or a pixel)."""

from __future__ import annotations

import numpy as np


def _columns(a: np.ndarray, leading: int) -> np.ndarray:
    return a.reshape(*a.shape[:leading], -1)


def nrmse(truth: np.ndarray, missing: np.ndarray, imputations: np.ndarray) -> float:
    """The mean over columns of RMSE(mean of the K imputations, truth) on the column's missing
    entries divided by the column's standard deviation in `truth`. Columns with no missing
    entry or no spread (an always-black pixel) are left out."""
    truth, missing = _columns(truth, 1), _columns(missing, 1)
    mean = _columns(imputations, 2).mean(axis=0)
    scores = []
    for j in range(truth.shape[1]):
        rows, std = missing[:, j], truth[:, j].std()
        if rows.any() and std > 0:
            scores.append(np.sqrt(np.mean((mean[rows, j] - truth[rows, j]) ** 2)) / std)
    return float(np.mean(scores)) if scores else float("nan")


def pfc(truth: np.ndarray, missing: np.ndarray, imputations: np.ndarray) -> float:
    """Proportion of falsely classified entries of categorical columns (integer codes): the
    most frequent rounded category among the K imputations against the truth, over every
    missing entry."""
    votes = np.rint(_columns(imputations, 2)).astype(np.int64)
    truth, missing = _columns(truth, 1).astype(np.int64), _columns(missing, 1)
    categories = np.union1d(np.unique(votes), np.unique(truth))
    counts = (votes[..., None] == categories).sum(axis=0)  # (N, D, categories)
    predicted = categories[counts.argmax(axis=-1)]
    return float(np.mean(predicted[missing] != truth[missing]))


def best_psnr(truth: np.ndarray, imputations: np.ndarray, peak: float = 1.0) -> float:
    """PSNR (dB) of each image's best of its K inpaintings (whole image, observed pixels
    included, as the paper reports), averaged over images."""
    err = (_columns(imputations, 2) - _columns(truth, 1)[None]) ** 2
    best = err.mean(axis=-1).min(axis=0)
    return float(np.mean(10 * np.log10(peak**2 / np.maximum(best, 1e-12))))


AMBIGUITY_NEIGHBOURS = 10
"""Training examples compared with each test example's observed part in `ambiguous_halves`:
fixed before any run was scored, as many as the K = 10 inpaintings the study draws."""


def ambiguous_halves(
    train_x: np.ndarray,
    train_y: np.ndarray,
    truth: np.ndarray,
    missing: np.ndarray,
    neighbours: int = AMBIGUITY_NEIGHBOURS,
) -> np.ndarray:
    """(N,) booleans: whether the observed part of each test example leaves its class open,
    read off the training split alone (no method, no judge): its `neighbours` nearest
    training examples, in squared distance over that example's observed entries, carry more
    than one label. Where they agree, one class is the right answer and a sampler that keeps
    to it is no less faithful than one that strays; VAEAC's diversity claim is about the
    other examples."""
    observed = ~_columns(missing, 1)
    a = np.where(observed, _columns(truth, 1), 0.0)
    b = _columns(train_x, 1).astype(np.float64)
    dist = (a**2).sum(1)[:, None] - 2 * a @ b.T + observed.astype(np.float64) @ (b**2).T
    k = min(neighbours, len(b))
    nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
    labels = np.asarray(train_y)[nearest]
    return (labels != labels[:, :1]).any(axis=1)


def distinct_classes(classes: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean over examples (those `where` marks, all by default) of the number of distinct
    classes (K, N) a judge gives the K inpaintings of one example: how diverse the samples
    are; NaN where no example is marked."""
    counts = np.array([len(np.unique(classes[:, i])) for i in range(classes.shape[1])])
    chosen = counts if where is None else counts[np.asarray(where, dtype=bool)]
    return float(chosen.mean()) if len(chosen) else float("nan")
