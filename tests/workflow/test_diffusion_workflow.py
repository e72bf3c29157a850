"""End to end: the real `snakemake` on configs/diffusion_tiny.yaml in a temporary copy of the
project: synthetic simplex data and digits are prepared, SS-DDPM and DDPM train as generation
runs, the judge classifier is trained once for the image dataset, and the generation metrics
land in the same tidy table as every other task's, with sample figures and training curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.project_copy import TIDY_COLUMNS, sh
from tests.workflow.conftest import metric

CONFIG = "configs/diffusion_tiny.yaml"
EXPERIMENTS = ("ss_ddpm_simplex3", "ddpm_simplex3", "ss_ddpm_digits", "ddpm_digits")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(run_workflow) -> Path:
    return run_workflow(CONFIG, cores=2)


def test_generation_metrics_are_tidy_rows(table):
    assert list(table.columns) == TIDY_COLUMNS
    for experiment in EXPERIMENTS:
        assert len(metric(table, experiment, "sliced_w")) == 1
        assert metric(table, experiment, "out_of_domain") == [0.0]
    for experiment in ("ss_ddpm_simplex3", "ddpm_simplex3"):
        # an undertrained DDPM may project many samples onto one vertex: infinite KL, not NaN
        assert not np.isnan(metric(table, experiment, "sym_kl")).any()
        assert not metric(table, experiment, "fid_judge")
    for experiment in ("ss_ddpm_digits", "ddpm_digits"):
        assert metric(table, experiment, "fid_judge")[0] > 0


def test_outputs_judge_and_figures(project, paths):
    simplex = project / paths.run_dir("ss_ddpm_simplex3", 0) / "predictions.npz"
    with np.load(simplex) as data:
        assert data["samples"].shape == data["reference"].shape == (80, 3)
    with np.load(project / paths.run_dir("ddpm_digits", 0) / "predictions.npz") as data:
        assert data["samples"].shape == (64, 1, 8, 8) and data["reference"].shape[1:] == (1, 8, 8)
    assert (project / paths.judge("digits")).is_file()
    judges_of_simplex = project / Path(paths.judge("simplex3")).parents[1]
    assert not judges_of_simplex.exists(), "judges only for images"
    figures = [f"samples/{e}.png" for e in EXPERIMENTS]
    figures += [f"curves/{e}.png" for e in EXPERIMENTS]
    figures += ["figures/diffusion/sym_kl.png", "figures/diffusion/fid_judge.png"]
    for path in figures:
        assert (project / paths.report(path)).stat().st_size > 5_000, path
    assert "sym_kl" in (project / paths.index()).read_text()


def test_lint_is_clean(project):
    sh("snakemake", "--cores", "1", "--configfile", CONFIG, "--lint", cwd=project)
