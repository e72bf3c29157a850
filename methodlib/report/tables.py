"""The tidy metrics table and its summaries.

One row per number, with the columns `experiment, method, dataset, model, seed, samples,
metric, value` (`seed` is `all` for group-level rows such as deep ensembles, `mean` for a
value read from the mean over an experiment's seeds: its deep-ensemble equivalent). Other tools read
these names. `samples` is how many predictive samples a row's metric averages: a run's samples
(MC draws, snapshots, ...) or, for a group row, the ensemble's members. A metric named
`curve_<metric>` is that metric of the first `samples` samples (or members) only: the points
of a metric-against-samples curve; a plain metric name is the run's (or whole ensemble's) value.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO

import pandas as pd

from methodlib.errors import RunError
from methodlib.io import atomic_path, read_json
from methodlib.metrics.uncertainty import deep_ensemble_equivalents
from methodlib.spec import Pipeline

COLUMNS = ["experiment", "method", "dataset", "model", "seed", "samples", "metric", "value"]
KEYS = COLUMNS[:5]
CURVE_PREFIX = "curve_"


def tidy_from_runs(pipeline: Pipeline, metrics_files: Iterable[str | Path]) -> pd.DataFrame:
    """Rows of runs' metrics.json and groups' group/metrics.json."""
    rows = []
    for path in metrics_files:
        result = read_json(path)
        exp = pipeline.experiments[result["experiment"]]
        keys = {
            "experiment": result["experiment"],
            "method": exp.method.name,
            "dataset": exp.dataset,
            "model": exp.model,
            "seed": str(result["seed"]),
        }
        points = [(result.get("samples", result["metrics"].get("n_samples", 1)), "", result)]
        points += [(c["samples"], CURVE_PREFIX, c) for c in result.get("curve", [])]
        for samples, prefix, point in points:
            rows += _rows(keys, samples, prefix, point["metrics"])
        for ensemble in result.get("disjoint", []):
            members = {**keys, "seed": "+".join(str(s) for s in ensemble["members"])}
            rows += _rows(members, ensemble["samples"], "", ensemble["metrics"])
    return pd.DataFrame(rows, columns=COLUMNS)


def seed_members(label: str) -> list[int]:
    """The seeds behind a tidy row's seed label: a run's seed (`3`), or the members of a
    disjoint ensemble joined by `+` (`0+1`, as `tidy_rows` writes them)."""
    return [int(part) for part in str(label).split("+")]


def _rows(keys: dict, samples: int, prefix: str, metrics: dict[str, float]) -> list[dict]:
    return [
        {**keys, "samples": int(samples), "metric": prefix + metric, "value": float(value)}
        for metric, value in sorted(metrics.items())
    ]


def run_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of single runs (seed a number): not whole ensembles (`all`) nor the disjoint
    ensembles of a group (`0+1`, the seeds of their members)."""
    return frame[frame["seed"].astype(str).str.fullmatch(r"\d+")]


DEE_OF = "test_calibrated_nll"


def dee_bound(mean: float, sd: float | None, size: int | None) -> str | None:
    """A DEE clipped at an end of the reference curve (1 or its size K), as one number (`sd`
    None: the DEE of the seed mean) or on every seed, is a bound, not a number: "< 1" (worse
    than one network) or "≥ K" (better than the largest ensemble measured); None when the
    value reads as itself."""
    if sd is not None and not pd.isna(sd) and sd != 0:
        return None
    if mean <= 1.0:
        return "< 1"
    if size and mean >= size:
        return f"≥ {size}"
    return None


SEED_MEAN = "mean"
"""The tidy table's seed of a value read from the mean over an experiment's runs: the
deep-ensemble equivalent, which is a function of the seed-mean calibrated NLL."""


def reference_curve(pipeline: Pipeline, study: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows (by size) of the calibrated-NLL-against-size curve of the deep ensemble that
    the study's `dee_reference` names; empty when it has not run."""
    ref = pipeline.studies[study].dee_reference
    return frame[
        (frame["experiment"] == ref)
        & (frame["seed"] == "all")
        & (frame["metric"] == CURVE_PREFIX + DEE_OF)
    ].sort_values("samples")


def add_dee(pipeline: Pipeline, study: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows `dee` and `curve_dee` (seed `mean`): the deep-ensemble equivalent of every
    experiment on the dataset and model of the study's `dee_reference`, as Ashukha et al. 2020
    define it: the seed-mean calibrated NLL at each number of samples (the run's own, and each
    point of its samples curve) read off that deep ensemble's calibrated-NLL-against-size
    curve. Its uncertainty, from resampling the seeds, is the claim's
    (`methodlib.report.claims`); one DEE per seed would put the seed-to-seed spread of single
    networks into every point."""
    spec = pipeline.studies.get(study)
    if spec is None or spec.dee_reference is None:
        return frame
    ref_exp = pipeline.experiments[spec.dee_reference]
    reference = reference_curve(pipeline, study, frame)
    if reference.empty:
        raise RunError(
            f"studies.{study}.dee_reference: no ensemble curve of {spec.dee_reference!r} in "
            "the table"
        )
    sizes, curve = reference["samples"].tolist(), reference["value"].tolist()
    rows = run_rows(
        frame[
            frame["metric"].isin([DEE_OF, CURVE_PREFIX + DEE_OF])
            & (frame["dataset"] == ref_exp.dataset)
            & (frame["model"] == ref_exp.model)
        ]
    )
    keys = ["experiment", "method", "dataset", "model", "samples", "metric"]
    means = rows.groupby(keys, sort=False)["value"].mean().reset_index()
    dee = means.assign(
        seed=SEED_MEAN,
        metric=means["metric"].str.replace(DEE_OF, "dee", regex=False),
        value=deep_ensemble_equivalents(means["value"].to_numpy(float), sizes, curve),
    )
    return pd.concat([frame, dee[COLUMNS]], ignore_index=True)


def curves(frame: pd.DataFrame) -> pd.DataFrame:
    """The metric-against-samples rows, metric names without the `curve_` prefix: what
    `reports/curves.csv` holds."""
    rows = frame[frame["metric"].str.startswith(CURVE_PREFIX)]
    return rows.assign(metric=rows["metric"].str.removeprefix(CURVE_PREFIX))


def headline(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of whole runs and ensembles, without the curve points."""
    return frame[~frame["metric"].str.startswith(CURVE_PREFIX)]


def read_tidy(path: str | Path | IO[bytes]) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"seed": str})


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def curve_wide(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run (or ensemble) and number of samples, one column per `curve_` metric:
    what metric-against-samples figures are drawn from."""
    curves = frame[frame["metric"].str.startswith(CURVE_PREFIX)]
    return curves.pivot_table(
        index=[*KEYS, "samples"], columns="metric", values="value", aggfunc="first"
    ).reset_index()


def wide(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run, one column per metric: the shape figures and tables are drawn from."""
    return (
        headline(frame)
        .pivot_table(index=KEYS, columns="metric", values="value", aggfunc="first")
        .reset_index()
    )
