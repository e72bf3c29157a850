"""Selection on validation: pick one member of a group of experiments by a validation quantity.

A selection (`selections:` or a sweep's `select:`, `methodlib.spec.SelectionSpec`) reads the
`by` column of its members' training logs, and nothing else: no predictions, no metrics, no
test split. Each run contributes the value at the epoch it keeps: the row marked 1 in the
log's `kept` column when the run stopped early (`training.early_stopping`, which may end a run
with an earlier epoch's weights), else its last logged row (the loop keeps the final
weights). A member scores the mean of its seeds. The best mean by `better` wins; a tie (equal means, up to
rounding) goes to the member declared first, and the record says so.

`reports/selections/<name>.json` is the choice with every candidate's score and the logs
read; claims and the study's page read the chosen member from it. Torch-free.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from methodlib.errors import RunError
from methodlib.io import read_json, write_json
from methodlib.spec import SelectionSpec
from methodlib.tasks.base import KEPT_COLUMN

TIE_BREAK = "first member in declaration order"
TIE_TOLERANCE = 1e-12
"""Means this close are a tie: equal up to the rounding of averaging the seeds' values."""


def kept_value(log: str | Path, column: str) -> float:
    """The `column` at the epoch the run keeps: the row whose `kept` is 1 in a log that has
    that column (early stopping), else the last row."""
    with Path(log).open(newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        if column not in columns:
            raise RunError(
                f"{log}: the training log has no column {column!r} (it has "
                f"{', '.join(columns) or 'none'}); select on one of its `val_*` columns"
            )
        rows = list(reader)
    if not rows:
        raise RunError(f"{log}: the training log has no epochs; rerun that training job")
    row = rows[-1]
    if KEPT_COLUMN in columns:
        kept = [r for r in rows if r[KEPT_COLUMN] == "1"]
        if len(kept) != 1:
            raise RunError(
                f"{log}: {len(kept)} rows are marked {KEPT_COLUMN!r}, not one; the log is "
                "not one that training wrote (rerun that training job)"
            )
        row = kept[0]
    text = row[column]
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise RunError(
            f"{log}: {column!r} at the kept epoch ({row.get('epoch', '?')}) is {text!r}, not a "
            "finite number; a selection needs every run's validation score (rerun that "
            "training job or select on another column)"
        )
    return value


def choose(name: str, spec: SelectionSpec, logs: Mapping[str, Mapping[int, str]]) -> dict:
    """The record of selection `name`: every member's kept `spec.by` values (member → seed →
    training log, members in declaration order), their mean over seeds, and the winner."""
    candidates = []
    for member in spec.members:
        seeds = sorted(logs[member])
        values = [kept_value(logs[member][s], spec.by) for s in seeds]
        candidates.append(
            {
                "experiment": member,
                "mean": statistics.fmean(values),
                "sd": statistics.stdev(values) if len(values) > 1 else None,
                "n": len(values),
                "seeds": seeds,
                "values": values,
            }
        )
    sign = 1.0 if spec.better == "lower" else -1.0
    best = min(sign * c["mean"] for c in candidates)
    tied = [
        c["experiment"]
        for c in candidates
        if math.isclose(sign * c["mean"], best, rel_tol=TIE_TOLERANCE, abs_tol=TIE_TOLERANCE)
    ]
    return {
        "selection": name,
        "study": spec.study,
        "by": spec.by,
        "better": spec.better,
        "chosen": tied[0],
        "tied": tied if len(tied) > 1 else [],
        "tie_break": TIE_BREAK,
        "candidates": candidates,
        "inputs": [logs[m][s] for m in spec.members for s in sorted(logs[m])],
    }


def check_inputs(
    name: str, expected: Mapping[str, Mapping[int, str]], given: Iterable[str]
) -> None:
    """The logs the command was given are exactly the selection's: the rule's inputs and what
    is read agree, so nothing else (a test-split output) can be slipped into a choice."""
    wanted = {str(Path(log)) for seeds in expected.values() for log in seeds.values()}
    given = {str(Path(log)) for log in given}
    if given != wanted:
        problems = [f"not a member's training log: {log}" for log in sorted(given - wanted)]
        problems += [f"missing: {log}" for log in sorted(wanted - given)]
        raise RunError(
            f"selection {name!r} reads its members' training logs only ({'; '.join(problems)})"
        )


def write_selection(
    name: str,
    spec: SelectionSpec,
    logs: Mapping[str, Mapping[int, str]],
    out: str | Path,
) -> dict:
    """Choose and write `out` (atomically); returns the record."""
    record = choose(name, spec, logs)
    write_json(out, record)
    return record


def read_selections(files: Iterable[str | Path]) -> dict[str, dict[str, Any]]:
    """Selection records by name, from their JSON files."""
    records = [read_json(f) for f in files]
    return {r["selection"]: r for r in records}
