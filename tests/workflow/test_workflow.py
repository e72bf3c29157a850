"""End to end: the real `snakemake` on configs/tiny.yaml in a temporary copy of the project,
then the no-op rerun, a targeted rerun after editing one experiment, a bad file stopping the
workflow before any job, `snakemake --lint`, the HTML report, and `dvc repro` in a git repo."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from methodlib.report.tables import read_tidy
from tests.project_copy import TIDY_COLUMNS, copy_project, edited_yaml, sh

TINY = "configs/tiny.yaml"

pytestmark = pytest.mark.slow


def snakemake(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return sh("snakemake", "--cores", "2", "--configfile", TINY, *args, cwd=project, check=check)


def planned_jobs(project: Path) -> list[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run would execute."""
    out = snakemake(project, "--dry-run").stdout
    jobs, rule = [], None
    for line in out.splitlines():
        line = line.strip()
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.startswith("wildcards:") and rule:
            jobs.append((rule, line.removeprefix("wildcards:").strip()))
    return jobs


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The tiny pipeline, run once for the whole module."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    snakemake(project)
    return project


def test_run_produces_the_reports(project):
    tiny = yaml.safe_load((project / TINY).read_text())
    for name in ["reports/metrics.csv", "reports/metrics.json", "reports/index.md"]:
        assert (project / name).is_file(), name
    for figure, spec in tiny["reports"].items():
        assert (project / f"reports/figures/{spec['study']}/{figure}.png").stat().st_size > 1000
    for experiment in tiny["experiments"]:
        assert (project / f"reports/curves/{experiment}.png").is_file()
    table = read_tidy(project / "reports/metrics.csv")
    assert list(table.columns) == TIDY_COLUMNS
    accuracy = table[table["metric"] == "test_accuracy"]
    assert len(accuracy) == 3  # mlp × 2 seeds + conv × 1 seed
    assert (accuracy["samples"] == 1).all()  # dense: one sample per run
    assert accuracy["value"].between(0.2, 1.0).all(), "two epochs beat chance on digits"
    index = (project / "reports/index.md").read_text()
    assert (
        "figures/smoke/error_by_model.png" in index and "Test error of each architecture" in index
    )


def test_second_run_does_nothing(project):
    assert "Nothing to be done" in snakemake(project).stdout + snakemake(project).stderr


def test_editing_one_experiment_reruns_only_it_and_the_reports(project):
    def new_conv_lr(tiny: dict) -> None:
        tiny["experiments"]["conv"]["training"] = {"lr": 0.002}

    with edited_yaml(project / TINY, new_conv_lr):
        jobs = planned_jobs(project)
    trained = {wildcards for rule, wildcards in jobs if rule == "train_run"}
    assert trained == {"experiment=conv, seed=0"}
    assert not any(rule == "prepare_dataset" for rule, _ in jobs)
    assert ("plot_curves", "experiment=mlp") not in jobs


def test_bad_pipeline_stops_before_any_job(project):
    bad = project / "configs" / "bad.yaml"
    tiny = yaml.safe_load((project / TINY).read_text())
    tiny["experiments"]["conv"]["method"] = {"name": "dnse"}
    bad.write_text(yaml.safe_dump(tiny))
    result = sh("snakemake", "--cores", "2", "--configfile", str(bad), cwd=project, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "experiments.conv.method.name" in output and "did you mean 'dense'" in output
    assert "Building DAG" not in output and "Execute" not in output


def test_lint_is_clean(project):
    result = snakemake(project, "--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_html_report_has_the_figures(project):
    snakemake(project, "--report", "reports/report.html")
    assert (project / "reports/report.html").stat().st_size > 10_000


def test_dvc_repro_in_a_fresh_git_repo(tmp_path):
    repo = copy_project(tmp_path)
    shutil.copy2(repo / TINY, repo / "pipeline.yaml")
    sh("git", "init", "-q", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", cwd=repo)
    sh("dvc", "repro", cwd=repo)
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert {"prepare@digits", "workflow"} <= set(lock["stages"])
    assert "didn't change" in sh("dvc", "repro", cwd=repo).stdout
    metrics = sh("dvc", "metrics", "show", "--json", cwd=repo).stdout
    assert "test_accuracy" in metrics
    sh("dvc", "plots", "show", "-o", str(tmp_path / "plots"), cwd=repo)
    assert (tmp_path / "plots" / "index.html").is_file()
