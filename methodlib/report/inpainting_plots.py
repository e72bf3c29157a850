"""The imputation task's per-experiment figure, from its first seed's predictions.npz.

Images: one row per test image (the first `ROWS`), with the input (hidden pixels grey), the
mask, the first `SAMPLES` inpaintings (a deterministic method has one) and the truth. Vectors:
each hidden entry's imputation (the mean of the K samples) against its true value, both in
units of the column's standard deviation, with the diagonal of a perfect imputer."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on cluster nodes or CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from methodlib.report.plots import save_figure  # noqa: E402
from methodlib.routines.imputation_eval import read_imputations  # noqa: E402

ROWS = 6
SAMPLES = 5
POINTS = 3000  # at most this many hidden entries in a scatter


def plot_inpainting(experiment: str, predictions: str | Path, out: str | Path) -> None:
    truth, missing, imputations = read_imputations(predictions)
    if truth.ndim == 4:
        fig = _image_grid(truth, missing, imputations)
    else:
        fig = _scatter(truth, missing, imputations)
    fig.suptitle(f"{experiment}: imputations (first seed)")
    fig.tight_layout()
    save_figure(fig, out)


def _image_grid(truth: np.ndarray, missing: np.ndarray, imputations: np.ndarray):
    rows = min(ROWS, len(truth))
    k = min(SAMPLES, len(imputations))
    titles = ["input", "mask", *(f"sample {i + 1}" for i in range(k)), "truth"]
    fig, axes = plt.subplots(rows, len(titles), figsize=(1.1 * len(titles), 1.15 * rows))
    axes = np.atleast_2d(axes)
    for r in range(rows):
        hidden = missing[r, 0]
        shown = np.where(hidden, 0.5, truth[r, 0])  # grey where hidden
        panels = [
            shown,
            hidden.astype(float),
            *(imputations[i, r, 0] for i in range(k)),
            truth[r, 0],
        ]
        for c, image in enumerate(panels):
            axes[r, c].imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
            axes[r, c].axis("off")
            if r == 0:
                axes[r, c].set_title(titles[c], fontsize=8)
    return fig


def _scatter(truth: np.ndarray, missing: np.ndarray, imputations: np.ndarray):
    mean, std = truth.mean(axis=0), np.maximum(truth.std(axis=0), 1e-12)
    true = ((truth - mean) / std)[missing]
    imputed = ((imputations.mean(axis=0) - mean) / std)[missing]
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.scatter(true[:POINTS], imputed[:POINTS], s=4, alpha=0.4)
    low, high = float(min(true.min(), imputed.min())), float(max(true.max(), imputed.max()))
    ax.plot([low, high], [low, high], color="black", lw=0.8)
    ax.set_xlabel("true value (column sd)")
    ax.set_ylabel("imputed value (column sd)")
    ax.set_aspect("equal")
    return fig
