"""Deep ensembles across runs (`evaluate_group`): the members are one experiment's runs with
different seeds; their task's routine evaluates the ensemble (classification:
`routines/classification_ensembles.py`, the average of the members' predictive distributions).

`results/<experiment>/group/metrics.json` holds the whole ensemble's metrics (`seed` is `all`,
`samples` the number of members) and, as `curve`, those of ensembles of k members for
k = 1..K; `curve.csv` beside it is the same curve as a table (one row per size)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from methodlib.errors import RunError
from methodlib.io import atomic_path, read_json, write_json
from methodlib.routines import get_routine


def member_task(prediction: Path) -> str:
    """The task of the run whose predictions.npz this is (its run.json, written beside it)."""
    record = prediction.parent / "run.json"
    if not record.is_file():
        raise RunError(f"{record} is missing; rerun that training job")
    return read_json(record)["task"]


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
    result = get_routine(member_task(paths[0])).evaluate_ensemble(experiment, paths)
    table = pd.DataFrame([{"samples": c["samples"], **c["metrics"]} for c in result["curve"]])
    with atomic_path(curve_csv) as tmp:
        table.to_csv(tmp, index=False)
    write_json(out, result)
    return result
