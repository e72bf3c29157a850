"""Evaluation of one finished run: the task's metrics on its saved test outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from methodlib.errors import RunError
from methodlib.io import read_json, write_json
from methodlib.metrics import classification_metrics


def evaluate_run(run_dir: str | Path, out: str | Path | None = None) -> dict[str, Any]:
    """Compute metrics.json from predictions.npz and run.json of a finished run."""
    run_dir = Path(run_dir)
    record = read_json(run_dir / "run.json")
    if record["task"] != "classification":
        raise RunError(f"{run_dir}: no evaluation for task {record['task']!r}")
    try:
        with np.load(run_dir / "predictions.npz") as outputs:
            probs, labels = outputs["probs"], outputs["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise RunError(
            f"{run_dir}/predictions.npz: unreadable ({exc}); rerun the training job"
        ) from None
    metrics = {
        **classification_metrics(probs, labels),
        **record["model_stats"],
        "n_samples": int(probs.shape[0]),
        "train_seconds": record["train_seconds"],
    }
    result = {
        "experiment": record["experiment"],
        "seed": record["seed"],
        "config_hash": record["config_hash"],
        "metrics": metrics,
    }
    write_json(out or run_dir / "metrics.json", result)
    return result
