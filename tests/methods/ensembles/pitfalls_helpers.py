"""What the tests of the Pitfalls baselines (`ffg_vi`, `kfac_laplace`, `variance_net`) share:
an end-to-end run on the tiny digits, and Monte Carlo moments of a layer's output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from methodlib.train import train_run
from tests.conftest import tiny_pipeline


def smoke_run(tmp_path: Path, data_root: Path, **experiment: Any) -> tuple[dict, np.ndarray, float]:
    """Train `exp` (3 epochs on 300 digits) through the shared loop; return run.json's record,
    the test probabilities and the accuracy of their mean, after checking their form."""
    pipeline = tiny_pipeline(**experiment)
    data = data_root / "digits"
    record = train_run(pipeline, "exp", 0, tmp_path / "run", data_dir=data, progress=False)
    with np.load(tmp_path / "run" / "predictions.npz") as npz:
        probs, labels = npz["probs"], npz["labels"]
    assert probs.ndim == 3 and probs.shape[1:] == (len(labels), 10)
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-4)
    return record, probs, (probs.mean(0).argmax(1) == labels).mean()


def output_moments(layer: torch.nn.Module, x: torch.Tensor, n: int) -> tuple[torch.Tensor, ...]:
    """Mean and variance of the layer's output on one input, over `n` forward passes."""
    with torch.no_grad():
        out = layer(x.expand(n, *x.shape[1:]))
    return out.mean(0), out.var(0)
