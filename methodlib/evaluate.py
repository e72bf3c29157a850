"""Evaluation of one finished run: its task's metrics on its saved test outputs.

The routine of the task named in run.json evaluates the run (`Routine.evaluate`,
`methodlib/routines/`) and imports only its own metrics: classification's every metric for all
of a run's samples and, as a curve, for the first k of them (`routines/classification_eval.py`),
generation's samples against the test split (`routines/generation_eval.py`), text's generated
sets against the test texts (`routines/text_eval.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from methodlib.errors import RunError
from methodlib.io import read_json, write_json
from methodlib.routines import get_routine
from methodlib.tasks import TASKS


def evaluate_run(
    run_dir: str | Path,
    out: str | Path | None = None,
    judge: str | Path | None = None,
    data: str | Path | None = None,
) -> dict[str, Any]:
    """Compute metrics.json from predictions.npz and run.json of a finished run; `judge` is
    the dataset's judge (image and text generation), `data` the prepared dataset (text: its
    training texts, for `memorization`)."""
    run_dir = Path(run_dir)
    record = read_json(run_dir / "run.json")
    if record["task"] not in TASKS:
        raise RunError(f"{run_dir}: no evaluation for task {record['task']!r}")
    result = get_routine(record["task"]).evaluate(run_dir, record, judge, data)
    write_json(out or run_dir / "metrics.json", result)
    return result
