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

from methodlib.report.tables import read_tidy
from tests.project_copy import TIDY_COLUMNS, edited_yaml, sh

CONFIG = "configs/ensembles_tiny.yaml"

pytestmark = pytest.mark.slow


def snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    return sh("snakemake", "--cores", "1", "--configfile", CONFIG, *args, cwd=project)


@pytest.fixture(scope="module")
def project(run_workflow) -> Path:
    return run_workflow(CONFIG, cores=1)


def rows(table: pd.DataFrame, experiment: str, metric: str) -> list[list]:
    selected = table[(table["experiment"] == experiment) & (table["metric"] == metric)]
    return selected[["seed", "samples"]].values.tolist()


def test_the_deep_ensemble_is_a_group_row_with_its_size_curve(project, paths, table):
    assert list(table.columns) == TIDY_COLUMNS
    assert rows(table, "dense_mlp", "test_calibrated_nll") == [
        ["0", 1],
        ["1", 1],
        ["2", 1],
        ["all", 3],
    ]
    curve = rows(table, "dense_mlp", "curve_test_calibrated_nll")
    assert [r for r in curve if r[0] == "all"] == [["all", 1], ["all", 2], ["all", 3]]
    group_dir = project / paths.group_dir("dense_mlp")
    group = json.loads((group_dir / "metrics.json").read_text())
    assert group["members"] == [0, 1, 2]
    one, three = group["curve"][0]["metrics"], group["curve"][-1]["metrics"]
    runs = [project / paths.run_dir("dense_mlp", s) for s in (0, 1, 2)]
    members = [json.loads((run / "metrics.json").read_text())["metrics"] for run in runs]
    # size 1: the mean over the members alone
    assert one["test_nll"] == pytest.approx(sum(m["test_nll"] for m in members) / 3)
    # the NLL of averaged probabilities is at most the members' mean NLL (-log is convex)
    assert three["test_nll"] <= sum(m["test_nll"] for m in members) / 3
    assert len(pd.read_csv(group_dir / "curve.csv")) == 3
    dvc = project / paths.report("metrics/ensembles")
    ensemble = json.loads((dvc / "dense_mlp_ensemble.json").read_text())
    assert ensemble["test_calibrated_nll"] == pytest.approx(three["test_calibrated_nll"], abs=1e-6)
    assert ensemble["members"] == 3
    runs_file = json.loads((dvc / "dense_mlp.json").read_text())
    assert runs_file["seeds"] == 3 and set(runs_file) >= {"test_calibrated_nll", "dee"}


def test_mc_dropout_runs_carry_their_samples_curve(table):
    assert rows(table, "mc_dropout_mlp", "test_ece") == [["0", 5]]
    curve = rows(table, "mc_dropout_mlp", "curve_test_calibrated_nll")
    assert curve == [["0", 1], ["0", 2], ["0", 4], ["0", 5]]
    assert "all" not in set(table[table["experiment"] == "mc_dropout_mlp"]["seed"])


def test_dee_ood_and_reliability_reports(project, paths, table):
    dee = table[table["metric"] == "dee"]
    assert set(dee["experiment"]) == {"dense_mlp", "mc_dropout_mlp"}
    assert "all" not in set(dee[dee["experiment"] == "dense_mlp"]["seed"])  # not the reference
    assert ((dee["value"] >= 1) & (dee["value"] <= 3)).all()
    assert (table[table["metric"] == "ood_auroc"]["value"].between(0, 1)).all()
    assert len(table[table["metric"] == "ood_auroc"]) == 5  # four runs and the ensemble
    curves = read_tidy(project / paths.report("curves.csv"))
    assert list(curves.columns) == TIDY_COLUMNS
    assert {"dee", "test_calibrated_nll", "test_accuracy"} <= set(curves["metric"])
    for path in (
        "reliability/ensembles.png",
        "risk_coverage/ensembles.png",
        "figures/ensembles/dee.png",
    ):
        assert (project / paths.report(path)).stat().st_size > 5_000, path


def test_changing_the_ensemble_size_reruns_only_the_group(project):
    def smaller_ensemble(pipeline: dict) -> None:
        pipeline["experiments"]["dense_mlp"]["ensemble"] = {"size": 2}

    with edited_yaml(project / CONFIG, smaller_ensemble):
        out = snakemake(project, "--dry-run").stdout
    assert "evaluate_group" in out and "train_run" not in out and "evaluate_run" not in out


def test_lint_is_clean(project):
    snakemake(project, "--lint")
