"""Temporary copies of the project for the tests that run the real snakemake, dvc and SLURM."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = (
    "Snakefile",
    "rules",
    "configs",
    "envs",
    "profiles",
    "pipeline.yaml",
    "dvc.yaml",
    ".dvcignore",
    ".gitignore",
    ".dvc/config",
    ".dvc/.gitignore",
    "methodlib",
)


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
