"""What the cluster tests share: the project as a git repository whose prepared data was pushed
to a DVC remote, and a fresh clone of it that pulled the data, as on a cluster's login node."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from methodlib.paths import Layout
from methodlib.spec import validate_pipeline
from tests.project_copy import copy_project, sh

ROOT = Path(__file__).resolve().parents[2]
BROKEN = "broken"  # an experiment whose training fails on every machine


def cluster_pipeline() -> dict:
    """configs/tiny.yaml with `device: auto` (under SLURM's CUDA_VISIBLE_DEVICES of a fake GPU,
    on a CPU-only torch, training must fall back to the CPU) and one experiment that fails:
    `cuda:7` exists nowhere, as a job sees at most the one GPU it was given."""
    pipeline = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text())
    pipeline["defaults"]["device"] = "auto"
    pipeline["experiments"][BROKEN] = {
        **pipeline["experiments"]["mlp"],
        "device": "cuda:7",
        "seeds": [0],
    }
    return pipeline


def layout(pipeline: dict) -> Layout:
    """Where the artifacts of the project's pipeline.yaml `pipeline` live (relative paths)."""
    return Layout(validate_pipeline(pipeline))


def run_dirs(pipeline: dict, *, broken: bool) -> dict[tuple[str, int], str]:
    """The run folder of every (experiment, seed) (the broken run's only when asked)."""
    paths = layout(pipeline)
    return {
        (name, seed): paths.run_dir(name, seed)
        for name in paths.pipeline.experiments
        if broken or name != BROKEN
        for seed in paths.pipeline.seeds_of(name)
    }


def run_targets(pipeline: dict, *, broken: bool) -> list[str]:
    """The metrics.json of every run (the broken run's only when asked)."""
    return [f"{run}/metrics.json" for run in run_dirs(pipeline, broken=broken).values()]


@dataclass
class SharedData:
    origin: Path  # the repository that prepared the data and pushed it
    remote: Path  # the DVC remote (a local folder; S3 or SSH on a real cluster)
    clone: Path  # a fresh clone that ran `dvc pull`
    pipeline: dict


def share_data(base: Path) -> SharedData:
    """Build origin, remote and clone under `base`."""
    origin, remote, clone = base / "origin", base / "remote", base / "clone"
    copy_project(origin)
    pipeline = cluster_pipeline()
    (origin / "pipeline.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    git = ("git", "-c", "user.name=t", "-c", "user.email=t@t")
    sh("git", "init", "-q", cwd=origin)
    sh("git", "add", "-A", cwd=origin)
    sh(*git, "commit", "-qm", "project", cwd=origin)

    sh("dvc", "repro", "prepare@digits", cwd=origin)
    sh("dvc", "remote", "add", "--default", "shared", str(remote), cwd=origin)
    sh("dvc", "push", cwd=origin)
    sh("git", "add", "dvc.lock", ".dvc/config", cwd=origin)
    sh(*git, "commit", "-qm", "prepared data, shared remote", cwd=origin)

    sh("git", "clone", "-q", str(origin), str(clone), cwd=base)
    sh("dvc", "pull", cwd=clone)
    return SharedData(origin, remote, clone, pipeline)
