"""Shared by the tests of the ensembling methods (swa, swag, sse, fge): tiny data, a driver that
calls the end-of-epoch hook the way the training loop does, and end-to-end runs of the real
training loop on the embedded digits."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import nn

from methodlib.methods import METHODS, DataInfo, EpochContext, Method
from methodlib.train import CHECKPOINT, train_run
from tests.conftest import interrupted_in_epoch

INFO = DataInfo(input_shape=(1, 8, 8), n_classes=10, n_train=64)


def data(seed: int = 0, n: int = 64, shift: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, *INFO.input_shape, generator=g) * 2 + shift
    return x, torch.randint(0, INFO.n_classes, (n,), generator=g)


def context(epoch: int, epochs: int, x_train: torch.Tensor | None = None) -> EpochContext:
    x, y = data() if x_train is None else (x_train, torch.zeros(len(x_train), dtype=torch.long))
    x_val, y_val = data(1, n=32)
    return EpochContext(epoch, epochs, x, y, x_val, y_val, batch_size=16)


def jiggle(model: nn.Module, seed: int) -> None:
    """Move every parameter, standing in for an epoch of training."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.1)


def parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def reloaded(method: Method) -> Method:
    """A fresh method of the same config restored from `method`'s state after a round trip
    through `torch.save` and `torch.load(weights_only=True)`."""
    buffer = io.BytesIO()
    torch.save(method.state_dict(), buffer)
    buffer.seek(0)
    fresh = type(method)(method.config, method.model_name, method.info)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    return fresh


def run(
    pipeline,
    root: Path,
    data_root: Path,
    name: str,
    experiment: str = "exp",
    init_dir: Path | None = None,
) -> Path:
    out = root / name
    data = data_root / "digits"
    train_run(pipeline, experiment, 0, out, data_dir=data, init_dir=init_dir, progress=False)
    return out


def probs(run_dir: Path) -> np.ndarray:
    with np.load(run_dir / "predictions.npz") as npz:
        return npz["probs"]


def assert_resume_is_identical(pipeline, tmp_path: Path, data_root: Path, monkeypatch) -> Path:
    """Train `exp` uninterrupted, then again with a crash after the third epoch's hook, resumed
    from the checkpoint; the predictions must agree exactly. Returns the reference run."""
    method_cls = METHODS[pipeline.experiments["exp"].method.name]
    reference = run(pipeline, tmp_path, data_root, "reference")
    with interrupted_in_epoch(monkeypatch, method_cls, 2, after_hook=True):
        run(pipeline, tmp_path, data_root, "resumed")
    assert (tmp_path / "resumed" / CHECKPOINT).is_file()
    resumed = run(pipeline, tmp_path, data_root, "resumed")
    assert '"epochs_resumed_from": 2' in (resumed / "run.json").read_text()
    np.testing.assert_array_equal(probs(resumed), probs(reference))
    return reference
