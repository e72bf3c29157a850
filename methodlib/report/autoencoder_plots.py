"""Figures of an autoencoding generative run (PAGAN, ALI, the VAE), its first seed: test
images above their reconstructions G(E(x)) (the saved ones the metrics scored), and latent
interpolations G((1 − t) μ_E(a) + t μ_E(b)) between pairs of test images — a model whose
codes carry content morphs one digit into another through digits."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on cluster nodes or CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from methodlib.data import load_prepared  # noqa: E402
from methodlib.methods import METHODS, DataInfo  # noqa: E402
from methodlib.report.plots import save_figure  # noqa: E402
from methodlib.report.sample_plots import image_grid  # noqa: E402
from methodlib.routines.generation_eval import read_reconstructions, read_samples  # noqa: E402
from methodlib.spec import Pipeline  # noqa: E402

PAIRS = 8  # interpolation rows
STEPS = 8  # images per interpolation row, both ends included
COLUMNS = 8  # images per row of the reconstruction grid


def reconstruction_rows(reference: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """(N, C, H, W) images and reconstructions interleaved by rows of `COLUMNS`: each row of
    originals directly above its reconstructions, four pairs of rows."""
    rows = []
    for start in range(0, 4 * COLUMNS, COLUMNS):
        rows += [reference[start : start + COLUMNS], reconstructions[start : start + COLUMNS]]
    return np.concatenate(rows)


@torch.no_grad()
def interpolations(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """(PAIRS · STEPS, C, H, W): row i goes from x[2i] to x[2i + 1] through the codes'
    means."""
    codes = model.encoder(x[: 2 * PAIRS])[0]
    t = torch.linspace(0, 1, STEPS)[None, :, None]
    path = (1 - t) * codes[0::2, None] + t * codes[1::2, None]
    return model.generator(path.flatten(0, 1)).numpy()


def load_model(
    pipeline: Pipeline, experiment: str, model_path: str | Path, meta: dict
) -> torch.nn.Module:
    exp = pipeline.experiments[experiment]
    info = DataInfo(tuple(meta["input_shape"]), meta["n_classes"], 0, meta.get("domain", "cube"))
    model = METHODS[exp.method.name](exp.method, exp.model, info).build_model()
    state = torch.load(model_path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    return model.eval()


def plot_autoencoder(
    pipeline: Pipeline,
    experiment: str,
    predictions: str | Path,
    model_path: str | Path,
    out: str | Path,
    data_dir: str | Path,
) -> None:
    _, reference = read_samples(predictions)
    reconstructions = read_reconstructions(predictions)
    data = load_prepared(data_dir, standardise=False)
    paths = interpolations(load_model(pipeline, experiment, model_path, data.meta), data.test.x)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.8))
    panels = (
        (reconstruction_rows(reference, reconstructions), COLUMNS, "test images above G(E(x))"),
        (paths, STEPS, "interpolations between test images"),
    )
    for ax, (images, side, title) in zip(axes, panels, strict=True):
        ax.imshow(image_grid(images, side), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle(f"{experiment}: reconstructions and interpolations (first seed)")
    fig.tight_layout()
    save_figure(fig, out)
