"""Shared by the workflow tests that run a tiny pipeline file end to end."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_FILES = ("Snakefile", "rules", "configs", "envs")


@pytest.fixture(scope="module")
def run_workflow(tmp_path_factory) -> Callable[..., Path]:
    """`run_workflow(config, cores=2)`: copy the workflow into a fresh temporary folder, run
    `snakemake --cores N --configfile <config>` there (asserting success), return the folder."""

    def run(config: str, cores: int = 2) -> Path:
        project = tmp_path_factory.mktemp(Path(config).stem)
        for name in WORKFLOW_FILES:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, project / name)
            else:
                shutil.copy2(source, project / name)
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
