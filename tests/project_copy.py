"""Temporary copies of the project, and commands run in them, for the tests that run the real
snakemake, dvc and SLURM."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = (
    "Snakefile",
    "rules",
    "configs",
    "envs",
    "profiles",
    "pipeline.yaml",
    "studies",
    "dvc.yaml",
    ".dvcignore",
    ".gitignore",
    ".dvc/config",
    ".dvc/.gitignore",
    "methodlib",
)
TIDY_COLUMNS = ["experiment", "method", "dataset", "model", "seed", "samples", "metric", "value"]
"""The published columns of reports/metrics.csv, which other tools read by name."""


def copy_project(dest: Path, files: tuple[str, ...] = PROJECT_FILES) -> Path:
    """Copy the workflow, its configs and the package into `dest` (created if needed)."""
    for name in files:
        source, target = ROOT / name, dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    return dest


def sh(
    *args: str, cwd: Path, env: dict | None = None, check: bool = True, timeout: float = 900
) -> subprocess.CompletedProcess:
    """Run a command in `cwd`; with `check`, fail the test with its output if it fails."""
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@contextlib.contextmanager
def edited_yaml(path: Path, edit: Callable[[dict], None]) -> Iterator[None]:
    """Apply `edit` to the YAML file at `path` for the duration of the block, then restore it."""
    original = path.read_text()
    data = yaml.safe_load(original)
    edit(data)
    path.write_text(yaml.safe_dump(data))
    try:
        yield
    finally:
        path.write_text(original)
