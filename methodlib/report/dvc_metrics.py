"""`reports/metrics/<study>/<experiment>.json`: the DVC metrics, one small file per experiment.

`dvc metrics show` prints one row per file and one column per key (sorted), so one file of
every metric of every experiment read as a single row of ~120 columns. One file per experiment,
holding only what its study is about (the metrics its figures and claims name, means over
seeds, and the number of seeds), reads as a table: `dvc metrics show reports/metrics/ensembles`
is the ensembles study, one row per method, and `dvc metrics diff` compares two commits row by
row. Every number with its spread stays in `reports/metrics.csv` and `reports/index.md`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from methodlib.io import atomic_dir
from methodlib.report.tables import CURVE_PREFIX, run_rows
from methodlib.spec import Pipeline

ENSEMBLE_SUFFIX = "_ensemble"
"""The file of an experiment's deep ensemble (its group row)."""


def study_metrics(pipeline: Pipeline, study: str) -> list[str]:
    """The metrics a study's figures and claims name, in order (curve figures by their
    metric, numbered families such as `accuracy_after_chunk_*` left out)."""
    names = [f.y.removeprefix(CURVE_PREFIX) for f in pipeline.reports.values() if f.study == study]
    for claim in pipeline.claims.values():
        if claim.study == study:
            names += claim.metrics
    return [n for n in dict.fromkeys(names) if not n.endswith("*")]


def experiment_rows(pipeline: Pipeline, frame: pd.DataFrame) -> dict[tuple[str, str], dict]:
    """{(study, file stem): {metric: mean over seeds, ..., "seeds": n}}."""
    out: dict[tuple[str, str], dict] = {}
    for study in pipeline.study_names():
        metrics = study_metrics(pipeline, study)
        rows = frame[frame["experiment"].isin(pipeline.experiments_in(study))]
        rows = rows[rows["metric"].isin(metrics)]
        runs = run_rows(rows)
        for experiment, per_run in runs.groupby("experiment"):
            means = per_run.groupby("metric")["value"].mean()
            out[(study, experiment)] = {
                **{m: round(float(v), 6) for m, v in means.items()},
                "seeds": int(per_run["seed"].nunique()),
            }
        groups = rows[rows["seed"] == "all"]
        for experiment, group in groups.groupby("experiment"):
            values = group.groupby("metric")["value"].first()
            out[(study, experiment + ENSEMBLE_SUFFIX)] = {
                **{m: round(float(v), 6) for m, v in values.items()},
                "members": int(group["samples"].max()),
            }
    return out


def write_dvc_metrics(pipeline: Pipeline, frame: pd.DataFrame, out_dir: str | Path) -> None:
    """Write the folder whole or not at all."""
    with atomic_dir(out_dir) as tmp:
        for (study, stem), values in experiment_rows(pipeline, frame).items():
            path = Path(tmp) / study / f"{stem}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
