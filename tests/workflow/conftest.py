"""Shared by the workflow tests that run a tiny pipeline file end to end."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.project_copy import copy_project


@pytest.fixture(scope="module")
def run_workflow(tmp_path_factory) -> Callable[..., Path]:
    """`run_workflow(config, cores=2)`: copy the workflow into a fresh temporary folder, run
    `snakemake --cores N --configfile <config>` there (asserting success), return the folder."""

    def run(config: str, cores: int = 2) -> Path:
        project = copy_project(tmp_path_factory.mktemp(Path(config).stem))
        result = subprocess.run(
            ["snakemake", "--cores", str(cores), "--configfile", config],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return project

    return run
