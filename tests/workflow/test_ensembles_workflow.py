"""End to end: the real `snakemake` on configs/ensembles_tiny.yaml in a temporary copy of the
project: three dense runs become a deep ensemble through the `evaluate_group` rule, MC dropout
saves its samples, and the tidy table carries runs, ensembles and metric-against-samples
curves with a `samples` column."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.project_copy import TIDY_COLUMNS, edited_yaml, sh

CONFIG = "configs/ensembles_tiny.yaml"

pytestmark = pytest.mark.slow


def snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    return sh("snakemake", "--cores", "1", "--configfile", CONFIG, *args, cwd=project)


@pytest.fixture(scope="module")
def project(run_workflow) -> Path:
    return run_workflow(CONFIG, cores=1)


@pytest.fixture(scope="module")
def table(project) -> pd.DataFrame:
    return pd.read_csv(project / "reports/metrics.csv", dtype={"seed": str})


def rows(table: pd.DataFrame, experiment: str, metric: str) -> list[list]:
    selected = table[(table["experiment"] == experiment) & (table["metric"] == metric)]
    return selected[["seed", "samples"]].values.tolist()


def test_the_deep_ensemble_is_a_group_row_with_its_size_curve(project, table):
    assert list(table.columns) == TIDY_COLUMNS
    assert rows(table, "dense_mlp", "test_calibrated_nll") == [
        ["0", 1],
        ["1", 1],
        ["2", 1],
        ["all", 3],
    ]
    curve = rows(table, "dense_mlp", "curve_test_calibrated_nll")
    assert [r for r in curve if r[0] == "all"] == [["all", 1], ["all", 2], ["all", 3]]
    group = json.loads((project / "results/dense_mlp/group/metrics.json").read_text())
    assert group["members"] == [0, 1, 2]
    one, three = group["curve"][0]["metrics"], group["curve"][-1]["metrics"]
    members = [
        json.loads((project / f"results/dense_mlp/seed{s}/metrics.json").read_text())["metrics"]
        for s in (0, 1, 2)
    ]
    assert one["test_nll"] == pytest.approx(members[0]["test_nll"])  # the first member alone
    # the NLL of averaged probabilities is at most the members' mean NLL (-log is convex)
    assert three["test_nll"] <= sum(m["test_nll"] for m in members) / 3
    assert len(pd.read_csv(project / "results/dense_mlp/group/curve.csv")) == 3
    summary = json.loads((project / "reports/metrics.json").read_text())["dense_mlp"]
    assert summary["group_test_calibrated_nll"] == pytest.approx(
        three["test_calibrated_nll"], abs=1e-6
    )


def test_mc_dropout_runs_carry_their_samples_curve(table):
    assert rows(table, "mc_dropout_mlp", "test_ece") == [["0", 5]]
    curve = rows(table, "mc_dropout_mlp", "curve_test_calibrated_nll")
    assert curve == [["0", 1], ["0", 2], ["0", 4], ["0", 5]]
    assert "all" not in set(table[table["experiment"] == "mc_dropout_mlp"]["seed"])


def test_changing_the_ensemble_size_reruns_only_the_group(project):
    def smaller_ensemble(pipeline: dict) -> None:
        pipeline["experiments"]["dense_mlp"]["ensemble"] = {"size": 2}

    with edited_yaml(project / CONFIG, smaller_ensemble):
        out = snakemake(project, "--dry-run").stdout
    assert "evaluate_group" in out and "train_run" not in out and "evaluate_run" not in out


def test_lint_is_clean(project):
    snakemake(project, "--lint")
