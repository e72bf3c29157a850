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
from methodlib.paths import Layout
from methodlib.report.tables import CURVE_PREFIX, SEED_MEAN, run_rows
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
    """{(study, file stem): {metric: mean over seeds, ..., "seeds": n}} for every file that
    `Layout.dvc_metric_stems` names (the rule's outputs), whatever the table holds."""
    out: dict[tuple[str, str], dict] = {}
    metrics_of = {s: study_metrics(pipeline, s) for s in pipeline.study_names()}
    for study, stem in Layout(pipeline).dvc_metric_stems():
        metrics = metrics_of[study]
        experiment = stem.removesuffix(ENSEMBLE_SUFFIX)
        rows = frame[(frame["experiment"] == experiment) & frame["metric"].isin(metrics)]
        if stem.endswith(ENSEMBLE_SUFFIX) and experiment in pipeline.experiments:
            group = rows[rows["seed"] == "all"]
            values = group.groupby("metric")["value"].first()
            size = int(group["samples"].max()) if len(group) else 0
            out[(study, stem)] = {**_rounded(values), "members": size}
        else:
            runs = run_rows(rows)
            means = runs.groupby("metric")["value"].mean()
            read_from_mean = rows[rows["seed"] == SEED_MEAN]  # the DEE: one value, not a mean
            means = pd.concat([means, read_from_mean.groupby("metric")["value"].first()])
            out[(study, stem)] = {**_rounded(means), "seeds": int(runs["seed"].nunique())}
    return out


def _rounded(values: pd.Series) -> dict[str, float]:
    return {m: round(float(v), 6) for m, v in values.items()}


def write_dvc_metrics(pipeline: Pipeline, frame: pd.DataFrame, out_dir: str | Path) -> None:
    """Write the folder whole or not at all (files of removed experiments go with it)."""
    with atomic_dir(out_dir) as tmp:
        for (study, stem), values in experiment_rows(pipeline, frame).items():
            path = Path(tmp) / study / f"{stem}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
