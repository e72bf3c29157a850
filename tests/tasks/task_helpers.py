"""What the task tests share: tiny prepared data in memory and a finished run's run.json."""

from __future__ import annotations

import torch

from methodlib.data import Prepared, Split


def split(x: torch.Tensor, y: torch.Tensor | None = None) -> Split:
    return Split(x, torch.zeros(len(x), dtype=torch.long) if y is None else y)


def prepared(train: Split, val: Split, test: Split, **more) -> Prepared:
    return Prepared(meta={}, train=train, val=val, test=test, **more)


def record(task: str, **more) -> dict:
    """run.json of a finished run, as train.py writes it (what evaluation reads of it)."""
    return {
        "experiment": "exp",
        "seed": 0,
        "config_hash": "0123456789abcdef",
        "task": task,
        "domain": "cube",
        "train_seconds": 1.5,
        "model_stats": {"params": 10},
        **more,
    }
