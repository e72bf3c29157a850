"""`reports/metrics.csv`, `reports/metrics/` and `reports/curves.csv` from the studies' tidy
tables (`methodlib combine`, the `aggregate_all` rule): above both the tidy table
(`tables.py`) and the DVC metrics writer (`dvc_metrics.py`, which reads the table's rows), so
neither of those imports the other back."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from methodlib.report.dvc_metrics import write_dvc_metrics
from methodlib.report.tables import COLUMNS, curves, read_tidy, write_csv
from methodlib.spec import Pipeline


def combine(
    pipeline: Pipeline,
    paths: Iterable[str | Path],
    out_csv: str | Path,
    out_metrics: str | Path,
    out_curves: str | Path | None = None,
) -> pd.DataFrame:
    """Every study's rows in one table (`reports/metrics.csv`), the DVC metrics folder
    (`reports/metrics/`, methodlib/report/dvc_metrics.py) and the curve rows (`curves.csv`)."""
    frames = [read_tidy(p) for p in paths]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    # a study that includes another's runs repeats their rows
    frame = frame.drop_duplicates(subset=[c for c in COLUMNS if c != "value"])
    frame = frame.sort_values(["experiment", "seed", "metric"], kind="stable")
    write_csv(frame, out_csv)
    if out_curves is not None:
        write_csv(curves(frame), out_curves)
    write_dvc_metrics(pipeline, frame, out_metrics)
    return frame
