"""Prepared data shared through a DVC remote: one machine prepares and `dvc push`es, a fresh clone
(a cluster's login node) `dvc pull`s and its workflow trains without preparing the data again."""

from __future__ import annotations

import pytest
from shared_project import layout, run_targets, sh

pytestmark = pytest.mark.slow


def test_push_fills_the_remote(shared_data):
    assert any(path.is_file() for path in (shared_data.remote / "files").rglob("*"))


def test_pull_restores_the_prepared_data(shared_data):
    folder = layout(shared_data.pipeline).prepared("digits")  # the workflow's data
    pulled, prepared = shared_data.clone / folder, shared_data.origin / folder
    assert sorted(p.name for p in pulled.iterdir()) == sorted(p.name for p in prepared.iterdir())
    for path in prepared.iterdir():
        assert (pulled / path.name).read_bytes() == path.read_bytes(), path.name
    status = sh("dvc", "status", "prepare@digits", cwd=shared_data.clone).stdout
    assert "up to date" in status


def test_the_clone_trains_without_preparing_again(shared_data):
    targets = run_targets(shared_data.pipeline, broken=False)
    out = sh("snakemake", "--dry-run", *targets, cwd=shared_data.clone).stdout
    assert "rule train_run:" in out
    assert "prepare_dataset" not in out.split("Rules with missing metadata")[0]
