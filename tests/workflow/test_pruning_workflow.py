"""End to end: the real `snakemake` runs dense pretraining, sparse VD, VD-ARD and SBP on
configs/pruning_tiny.yaml in a temporary copy of the project; the runs carry the pruning
metrics, SBP starts from the dense run's weights, and the pruning figures draw from the
outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from methodlib.io import read_json
from methodlib.report.pruning_targets import pruning_figures
from methodlib.spec import load_pipeline

CONFIG = "configs/pruning_tiny.yaml"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(run_workflow) -> Path:
    return run_workflow(CONFIG)


def test_every_run_reports_the_pruning_metrics(project, paths):
    # the pruning study's own table, which includes the dense study's run
    table = pd.read_csv(project / paths.study_table("pruning"))
    runs = table.pivot_table(index="experiment", columns="metric", values="value")
    assert set(runs.index) == {"dense_mlp", "sparse_vd_mlp", "vd_ard_conv", "sbp_mlp"}
    for metric in ("compression", "flops_reduction", "cpu_speedup", "test_error"):
        assert runs[metric].notna().all(), metric
    assert runs.loc["dense_mlp", "compression"] == 1.0
    assert runs.loc["dense_mlp", "flops_reduction"] == 1.0
    assert {"kept_fraction_fc1", "sparsity_fc1"} <= set(runs.columns)
    assert {"kept_fraction_conv1", "kept_fraction_conv2"} <= set(runs.columns)
    assert (runs["compression"] >= 1).all()


def test_sbp_and_sparse_vd_start_from_the_dense_run(project, paths):
    for experiment in ("sbp_mlp", "sparse_vd_mlp"):
        record = read_json(project / paths.run_dir(experiment, 0) / "run.json")
        assert record["config"]["init_from"] == "dense_mlp"
    dense = (project / paths.run_dir("dense_mlp", 0) / "model.pt").stat().st_mtime
    assert (project / paths.run_dir("sbp_mlp", 0) / "model.pt").stat().st_mtime > dense


def test_report_figures_exist(project, paths):
    for figure in ("error_vs_compression", "flops_reduction"):
        assert (project / paths.report(f"figures/pruning/{figure}.png")).stat().st_size > 0


def test_pruning_figures_are_workflow_targets_in_the_index(project, paths):
    pipeline = load_pipeline(project / CONFIG)
    figures = pruning_figures(pipeline, "pruning")
    assert [path for _, path, _ in figures] == [
        "pruning/kept_fraction/pruning.png",
        "pruning/histograms/sparse_vd_mlp.png",
        "pruning/histograms/vd_ard_conv.png",
        "pruning/histograms/sbp_mlp.png",
    ]
    index = (project / paths.index()).read_text()
    for _, path, caption in figures:
        assert (project / paths.report(path)).stat().st_size > 1000, path
        assert f"]({path})" in index and caption in index
