"""End to end: the real `snakemake` on configs/pagan_tiny.yaml in a temporary copy of the
project: PAGAN, its two ablations, ALI and the VAE train on 8×8 digits, save samples and
reconstructions, are scored by the digits judge (`fid_judge`, `is_judge`, `rid`, with the
augmentation's RID as its floor) and by pixel error, with reconstruction and interpolation
figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.project_copy import sh

CONFIG = "configs/pagan_tiny.yaml"
EXPERIMENTS = ("pagan", "pagan_no_augmentation", "pagan_pixel_reconstruction", "ali", "vae")
METRICS = ("fid_judge", "is_judge", "recon_rmse", "rid", "rid_augmentation")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(run_workflow) -> Path:
    return run_workflow(CONFIG, cores=2)


def test_every_run_has_the_generative_and_reconstruction_metrics(table):
    for experiment in EXPERIMENTS:
        rows = table[table["experiment"] == experiment].set_index("metric")["value"]
        for name in METRICS:
            assert np.isfinite(rows[name]), (experiment, name)
        assert 1 <= rows["is_judge"] <= 10
    floors = table[table["metric"] == "rid_augmentation"]["value"]
    assert floors.nunique() == 1, "the augmentation's RID is the same floor for every run"


def test_reconstructions_and_figures(project, paths):
    with np.load(project / paths.run_dir("pagan", 0) / "predictions.npz") as data:
        assert data["samples"].shape == (64, 1, 8, 8)
        assert data["reconstructions"].shape == data["reference"].shape
    figures = [f"autoencoders/{e}.png" for e in EXPERIMENTS]
    figures += [f"samples/{e}.png" for e in EXPERIMENTS]
    figures += ["figures/pagan/rid.png", "figures/pagan/recon_rmse.png"]
    for path in figures:
        assert (project / paths.report(path)).stat().st_size > 5_000, path


def test_lint_is_clean(project):
    sh("snakemake", "--cores", "1", "--configfile", CONFIG, "--lint", cwd=project)
