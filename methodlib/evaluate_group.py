"""Deep ensembles across runs: the members are one experiment's runs with different seeds, and
the ensemble's prediction is the average of the members' predictive distributions.

`results/<experiment>/group/metrics.json` holds the metrics of the whole ensemble (`seed` is
`all`, `samples` the number of members) and, as `curve`, those of the first k members for
k = 1..K; `curve.csv` beside it is the same curve as a table (one row per size).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from methodlib.errors import RunError
from methodlib.evaluate import read_predictions, samples_curve
from methodlib.io import atomic_path, write_json


def member_predictive(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A member's predictive distribution (its samples averaged) and the test labels."""
    probs, labels = read_predictions(path)
    return probs.mean(axis=0, dtype=np.float64), labels


def seed_of(path: Path) -> int:
    match = re.fullmatch(r"seed(\d+)", path.parent.name)
    if not match:
        raise RunError(f"{path}: not in a run folder seed<N>")
    return int(match.group(1))


def evaluate_group(
    experiment: str,
    predictions: list[str | Path],
    out: str | Path,
    curve_csv: str | Path,
) -> dict[str, Any]:
    """Evaluate the ensemble of the runs whose predictions.npz are given, in member order."""
    paths = [Path(p) for p in predictions]
    if not paths:
        raise RunError(f"{experiment}: an ensemble needs at least one member's predictions")
    members, labels = [], None
    for path in paths:
        p, member_labels = member_predictive(path)
        if labels is not None and not np.array_equal(labels, member_labels):
            raise RunError(f"{path}: test labels differ from {paths[0]}; members must share data")
        members.append(p)
        labels = member_labels
    curve = samples_curve(np.stack(members), labels, list(range(1, len(members) + 1)))
    result = {
        "experiment": experiment,
        "seed": "all",
        "members": [seed_of(p) for p in paths],
        "samples": len(members),
        "metrics": curve[-1]["metrics"],
        "curve": curve,
    }
    table = pd.DataFrame([{"samples": c["samples"], **c["metrics"]} for c in curve])
    with atomic_path(curve_csv) as tmp:
        table.to_csv(tmp, index=False)
    write_json(out, result)
    return result
