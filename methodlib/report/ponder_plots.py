"""The adaptive-classification task's per-experiment figure, from its first seed's
predictions.npz: the first test images, each beside its ponder map (the per-position ponder
cost ρ summed over groups, `models/adaptive_resnet.py`) with the digit's box outlined, as the
SACT paper draws its ponder-cost maps."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on cluster nodes or CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from methodlib.io import read_npz  # noqa: E402
from methodlib.report.plots import save_figure  # noqa: E402

COLUMNS = 4  # image and map pairs per row


def plot_ponder_maps(experiment: str, predictions: str | Path, out: str | Path) -> None:
    with read_npz(predictions) as saved:
        images, maps = saved["images"], saved["ponder_maps"][: len(saved["images"])]
        boxes = saved.get("digit_boxes")
        costs = saved["ponder_cost"]
    n = len(images)
    rows = -(-n // COLUMNS)
    fig, axes = plt.subplots(rows, 2 * COLUMNS, figsize=(1.3 * 2 * COLUMNS, 1.45 * rows))
    axes = np.atleast_2d(axes)
    low, high = float(maps.min()), float(maps.max())
    canvas = images.shape[-1]
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        k = i // 2
        if k >= n:
            continue
        if i % 2 == 0:
            ax.imshow(images[k, 0], cmap="gray", extent=(0, canvas, canvas, 0))
        else:
            shown = ax.imshow(
                maps[k], cmap="viridis", vmin=low, vmax=high, extent=(0, canvas, canvas, 0)
            )
            ax.set_title(f"ρ = {costs[k]:.2f}", fontsize=7)
        if boxes is not None:
            top, left, bottom, right = boxes[k]
            box = Rectangle(
                (left, top), right - left, bottom - top, fill=False, color="red", lw=0.8
            )
            ax.add_patch(box)
    fig.colorbar(shown, ax=axes, shrink=0.6, label="ponder cost ρ")
    fig.suptitle(f"{experiment}: test images and ponder maps (first seed; box: the digit)")
    save_figure(fig, out)
