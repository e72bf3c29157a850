"""Shared fixtures: a tiny prepared dataset and a pipeline that trains on it in seconds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from methodlib.data import prepare_dataset
from methodlib.spec import Pipeline, validate_pipeline

TINY_DATASET = {"source": "digits", "limit": 300}


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """Prepared splits of 300 scikit-learn digits, shared by the whole session."""
    root = tmp_path_factory.mktemp("prepared")
    pipeline = tiny_pipeline()
    prepare_dataset("digits", pipeline.datasets["digits"], root / "digits")
    return root


def tiny_pipeline(others: dict | None = None, **experiment) -> Pipeline:
    """Experiment `exp` on the tiny digits (keyword arguments override its fields), plus any
    `others` experiments."""
    exp = {"dataset": "digits", "model": "lenet300_100", "method": {"name": "dense"}}
    exp.update(experiment)
    return validate_pipeline(
        {
            "seeds": [0],
            "defaults": {"device": "cpu", "training": {"epochs": 3, "batch_size": 32, "lr": 0.003}},
            "datasets": {"digits": TINY_DATASET},
            "experiments": {"exp": exp, **(others or {})},
        }
    )


@contextmanager
def interrupted_in_epoch(
    monkeypatch, method_cls, epoch: int, after_hook: bool = False
) -> Iterator[None]:
    """Training under it stops with KeyboardInterrupt in the end-of-epoch hook of the 0-based
    `epoch` (before the method's own end-of-epoch work, or after it with `after_hook`), as a
    killed job would; every other epoch runs normally. The interruption must happen."""
    original = method_cls.on_epoch_end

    def crash(self, model, ctx):
        if ctx.epoch == epoch and not after_hook:
            raise KeyboardInterrupt
        original(self, model, ctx)
        if ctx.epoch == epoch:
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(method_cls, "on_epoch_end", crash)
        with pytest.raises(KeyboardInterrupt):
            yield
