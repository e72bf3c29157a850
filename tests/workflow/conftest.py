"""Shared by the workflow tests that run a tiny pipeline file end to end."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from methodlib.paths import Layout
from methodlib.report.tables import read_tidy
from methodlib.spec import load_pipeline
from tests.project_copy import copy_project, sh


@pytest.fixture(scope="module")
def run_workflow(tmp_path_factory) -> Callable[..., Path]:
    """`run_workflow(config, cores=2)`: copy the workflow into a fresh temporary folder, run
    `snakemake --cores N --configfile <config>` there (asserting success), return the folder."""

    def run(config: str, cores: int = 2) -> Path:
        project = copy_project(tmp_path_factory.mktemp(Path(config).stem))
        sh("snakemake", "--cores", str(cores), "--configfile", config, cwd=project)
        return project

    return run


def layout(project: Path, config: str) -> Layout:
    """Where the artifacts of the pipeline file `config` run in `project` live: paths relative
    to `project` (its report folder is named from the file's path inside the project)."""
    with contextlib.chdir(project):
        return Layout(load_pipeline(config), config)


@pytest.fixture(scope="module")
def paths(project, request) -> Layout:
    """The layout of the module's `project` and `CONFIG` (each workflow module defines both)."""
    return layout(project, request.module.CONFIG)


@pytest.fixture(scope="module")
def table(project, paths) -> pd.DataFrame:
    """The tidy table of the module's `project`."""
    return read_tidy(project / paths.report("metrics.csv"))


def metric(table: pd.DataFrame, experiment: str, name: str) -> list[float]:
    """The per-run values of one metric of one experiment."""
    return table[(table["experiment"] == experiment) & (table["metric"] == name)]["value"].tolist()
