"""Figures of a generation run's samples beside the test data: image grids for images, scatter
plots for vectors — the 2-simplex in barycentric coordinates, the sphere S² as its two
hemispheres seen from the poles, the cube (and any other vectors) in its first two
coordinates, with the domain's boundary drawn and the same limits in both panels. The domain
comes from the run's run.json, next to its predictions."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on cluster nodes or CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from methodlib.io import read_json  # noqa: E402
from methodlib.report.plots import save_figure  # noqa: E402
from methodlib.routines.generation_eval import read_samples  # noqa: E402

GRID = 8  # images per side of a grid
POINTS = 1000  # at most this many points per scatter


def plot_samples(experiment: str, predictions: str | Path, out: str | Path) -> None:
    samples, reference = read_samples(predictions)
    if samples.ndim == 4:
        fig, axes = plt.subplots(1, 2, figsize=(8, 4.2))
        for ax, images, title in zip(
            axes, (samples, reference), ("generated", "test data"), strict=True
        ):
            ax.imshow(image_grid(images), cmap="gray", vmin=0, vmax=1)
            ax.set_title(title)
            ax.axis("off")
    else:
        domain = read_json(Path(predictions).parent / "run.json")["domain"]
        views = _views(domain, samples)
        fig, axes = plt.subplots(
            len(views), 2, figsize=(7, 3.4 * len(views)), squeeze=False, sharex=True, sharey=True
        )  # the same limits side by side: generated and test data compare at a glance
        for row, (project, label) in enumerate(views):
            for col, (points, title) in enumerate(
                ((samples, "generated"), (reference, "test data"))
            ):
                ax = axes[row, col]
                xy = project(points[:POINTS])
                ax.scatter(xy[:, 0], xy[:, 1], s=3, alpha=0.5)
                outline = _outline(domain, samples.shape[1])
                if outline is not None:
                    ax.plot(outline[:, 0], outline[:, 1], color="black", lw=0.8)
                ax.set_title(f"{title}: {label}")
                ax.set_aspect("equal")
    fig.suptitle(f"{experiment}: samples (first seed)")
    fig.tight_layout()
    save_figure(fig, out)


def image_grid(images: np.ndarray, side: int = GRID) -> np.ndarray:
    """The first side² images (N, C, H, W) tiled into one (side·H, side·W) picture, clipped to
    [0, 1] (DDPM without projection may leave it); the first channel of colour images."""
    n, _, h, w = images.shape
    count = min(n, side * side)
    grid = np.ones((side * h, side * w))
    for i in range(count):
        r, c = divmod(i, side)
        grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = np.clip(images[i, 0], 0, 1)
    return grid


def _views(domain: str, samples: np.ndarray):
    if domain == "simplex" and samples.shape[1] == 3:
        return [(_barycentric, "barycentric")]
    if domain == "sphere" and samples.shape[1] == 3:
        return [(_upper, "x₃ ≥ 0"), (_lower, "x₃ < 0")]
    return [(lambda p: p[:, :2], "x₁, x₂")]


def _outline(domain: str, dim: int) -> np.ndarray | None:
    """The domain's boundary in the scatter's coordinates, a closed line: the triangle of the
    2-simplex, the unit circle of each hemisphere, the unit square of the cube."""
    if domain == "simplex" and dim == 3:
        return _barycentric(np.eye(3)[[0, 1, 2, 0]])
    if domain == "sphere" and dim == 3:
        angle = np.linspace(0, 2 * np.pi, 200)
        return np.stack([np.cos(angle), np.sin(angle)], axis=1)
    if domain == "cube":
        return np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)
    return None


def _barycentric(points: np.ndarray) -> np.ndarray:
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    return points @ corners


def _upper(points: np.ndarray) -> np.ndarray:
    return np.where(points[:, 2:3] >= 0, points[:, :2], np.nan)


def _lower(points: np.ndarray) -> np.ndarray:
    return np.where(points[:, 2:3] < 0, points[:, :2], np.nan)
