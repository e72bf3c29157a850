"""The console of a real `snakemake` run (rules/progress.smk): a time estimate at the start,
from the benchmark files of earlier runs, and a failed job's log path and last lines instead
of its whole log; and Snakemake's default job rate limiter off for a local run, a limit the
user sets kept (methodlib.rate_limiter)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.project_copy import copy_project, sh
from tests.workflow.conftest import layout

CONFIG = "configs/progress.yaml"

pytestmark = pytest.mark.slow


def pipeline(lr: float = 0.003) -> dict:
    """One experiment of configs/tiny.yaml, two seeds, one epoch: three jobs per seed."""
    tiny = yaml.safe_load((Path(__file__).parents[2] / "configs/tiny.yaml").read_text())
    mlp = tiny["experiments"]["mlp"] | {"training": {"epochs": 1, "lr": lr}}
    return {**tiny, "experiments": {"mlp": mlp}, "reports": {}, "claims": {}, "selections": {}}


def run(project: Path, *options: str, lr: float = 0.003, check: bool = True) -> str:
    """Build both seeds' metrics.json (no reports: they would only add jobs); the console."""
    (project / CONFIG).write_text(yaml.safe_dump(pipeline(lr)))
    targets = layout(project, CONFIG).run_files("mlp", "metrics.json")
    result = sh(
        "snakemake",
        "--cores",
        "2",
        *targets,
        "--configfile",
        CONFIG,
        *options,
        cwd=project,
        check=check,
    )
    return result.stdout + result.stderr


def estimate_line(console: str) -> str:
    return next(line for line in console.splitlines() if line.startswith("Time estimate:"))


def test_estimate_from_earlier_runs_and_short_failure_output(tmp_path):
    project = copy_project(tmp_path)
    console = run(project)
    assert estimate_line(console).startswith("Time estimate: none (5 jobs")
    assert "Job rate limiter: off for this local run" in console

    paths = layout(project, CONFIG)
    seed0, seed1 = (project / paths.run_dir("mlp", s) for s in (0, 1))
    shutil.rmtree(seed0)  # rerun with its benchmark files: timed by its own earlier run
    shutil.rmtree(seed1)  # and without them: timed by the other seed
    for rule in ("train_run", "evaluate_run"):
        (
            project / "results/benchmarks" / rule / seed1.relative_to(project / "results")
        ).with_suffix(".tsv").unlink()
    console = run(project, "--max-jobs-per-timespan", "50/2s")
    assert "Job rate limiter: kept (50 jobs per 2 s, as set)" in console
    line = estimate_line(console)
    assert "of job time for 4 jobs" in line and "with 2 core(s)" in line, line
    assert "2 timed by an earlier run of the same config" in line, line
    assert "2 by other seeds or configs of the same experiment" in line, line

    console = run(project, lr=1e12, check=False)  # diverges: the job fails in its first epoch
    assert "loss is nan" in console
    failed = console[console.index("Failed jobs' logs:") :].splitlines()
    log = failed[1].split(" (last")[0]
    assert log.startswith("results/logs/train_run/mlp/") and (project / log).is_file()
    assert "loss is nan" in "\n".join(failed[2:22])
    assert console.count("epoch 1/1:") <= 4, "the log is not dumped whole, bars are folded"
