"""End to end: the real `snakemake` on configs/tiny.yaml in a temporary copy of the project,
then what a user does next and what Snakemake must make of it: the no-op rerun, a targeted
rerun after editing one experiment, a dataset edit that retrains its runs in one call, a
copied pipeline file with one more experiment, a clone holding committed reports, rewritten
data timestamps, a bad file stopping the workflow before any job, `snakemake --lint`, the HTML
report, and `dvc repro` in a git repo."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from methodlib.paths import Layout
from methodlib.report.tables import read_tidy
from methodlib.spec import load_pipeline
from tests.project_copy import TIDY_COLUMNS, copy_project, edited_yaml, sh

TINY = "configs/tiny.yaml"

pytestmark = pytest.mark.slow


def snakemake(
    project: Path, *args: str, config: str = TINY, check: bool = True
) -> subprocess.CompletedProcess:
    return sh("snakemake", "--cores", "2", "--configfile", config, *args, cwd=project, check=check)


def jobs_of(result: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    """(rule, wildcards) of every job a run executed or a dry run would execute."""
    jobs, rule = [], None
    for line in (result.stdout + result.stderr).splitlines():
        line = line.strip()
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.startswith("wildcards:") and rule:
            jobs.append((rule, line.removeprefix("wildcards:").strip()))
    return jobs


def planned_jobs(project: Path, config: str = TINY) -> list[tuple[str, str]]:
    return jobs_of(snakemake(project, "--dry-run", config=config))


def trained(jobs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """(experiment, seed) of the train_run jobs."""
    runs = set()
    for rule, wildcards in jobs:
        if rule == "train_run":
            fields = dict(part.split("=") for part in wildcards.split(", "))
            runs.add((fields["experiment"], fields["seed"]))
    return runs


def layout(project: Path, config: str = TINY) -> Layout:
    cwd = Path.cwd()
    os.chdir(project)  # report folders are named relative to the project
    try:
        return Layout(load_pipeline(config), config)
    finally:
        os.chdir(cwd)


def digest(folder: Path) -> dict[str, str]:
    """Content hash of every file under `folder`."""
    return {
        str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(folder.rglob("*"))
        if f.is_file()
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The tiny pipeline, run once for the whole module."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    snakemake(project)
    return project


def test_run_produces_the_reports(project):
    tiny = yaml.safe_load((project / TINY).read_text())
    paths = layout(project)
    assert paths.reports == "reports/pipelines/configs/tiny", "reports/ is pipeline.yaml's"
    for name in ["metrics.csv", "metrics/smoke/mlp.json", "claims.json", "claims.md", "index.md"]:
        assert (project / paths.report(name)).exists(), name
    for figure, spec in tiny["reports"].items():
        png = project / paths.report(f"figures/{spec['study']}/{figure}.png")
        assert png.stat().st_size > 1000
    for experiment in tiny["experiments"]:
        assert (project / paths.report(f"curves/{experiment}.png")).is_file()
    table = read_tidy(project / paths.report("metrics.csv"))
    assert list(table.columns) == TIDY_COLUMNS
    accuracy = table[table["metric"] == "test_accuracy"]
    assert len(accuracy) == 3  # mlp × 2 seeds + conv × 1 seed
    assert (accuracy["samples"] == 1).all()  # dense: one sample per run
    assert accuracy["value"].between(0.2, 1.0).all(), "two epochs beat chance on digits"
    index = (project / paths.index()).read_text()
    assert (
        "figures/smoke/error_by_model.png" in index and "Test error of each architecture" in index
    )
    assert not (project / "reports/metrics.csv").exists(), "the default pipeline's is untouched"
    claims = (project / paths.claims_page()).read_text()
    assert "LeNet-5 has a lower test error" in claims and "undecided" in claims  # conv: 1 seed
    choice = json.loads((project / paths.selection("architecture")).read_text())
    assert choice["chosen"] in ("mlp", "conv") and choice["by"] == "val_nll"
    assert choice["inputs"] == paths.run_files("mlp", "train_log.csv") + paths.run_files(
        "conv", "train_log.csv"
    )
    assert f"Selection architecture: chose {choice['chosen']} on val_nll" in index
    assert index.index("## Claims") < index.index("## Smoke test"), "the claims open the page"


def test_the_claims_are_decided_again_when_their_declaration_or_record_changes(project):
    def restate(tiny: dict) -> None:
        tiny["claims"]["conv_beats_mlp"]["statement"] = "LeNet-5 beats LeNet-300-100"

    with edited_yaml(project / TINY, restate):
        planned = snakemake(project, "--dry-run").stdout
    for rule in ("decide_claims", "write_claims_page", "write_index"):
        assert f"rule {rule}:" in planned, rule
    assert "rule train_run:" not in planned
    # a record with new content redraws the page and the index (a new timestamp alone does
    # not: Snakemake compares the checksums of small inputs)
    claims_json = project / layout(project).claims()
    record = json.loads(claims_json.read_text())
    record["claims"][0]["statement"] = "restated by hand"
    claims_json.write_text(json.dumps(record))
    planned = snakemake(project, "--dry-run").stdout
    assert "rule write_claims_page:" in planned and "rule write_index:" in planned
    assert "rule decide_claims:" not in planned
    snakemake(project)


def test_second_run_does_nothing(project):
    assert "Nothing to be done" in snakemake(project).stdout + snakemake(project).stderr


def test_editing_one_experiment_reruns_only_it_and_the_reports(project):
    def new_conv_lr(tiny: dict) -> None:
        tiny["experiments"]["conv"]["training"] = {"lr": 0.002}

    with edited_yaml(project / TINY, new_conv_lr):
        jobs = planned_jobs(project)
    assert trained(jobs) == {("conv", "0")}
    assert not any(rule == "prepare_dataset" for rule, _ in jobs)
    assert ("plot_curves", "experiment=mlp") not in jobs


def test_rewritten_data_timestamps_retrain_nothing(project):
    """DVC checking the prepared data out again rewrites its timestamps, not its content."""
    for path in (project / "data/prepared").rglob("*"):
        os.utime(path)
    result = snakemake(project, "--dry-run")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_a_clone_with_committed_reports_plans_every_run(project, tmp_path):
    """The reports are committed, results/ is not: a clone must still train every run (and so
    regenerate the reports from them), whatever order git wrote the files in."""
    repo = copy_project(tmp_path / "repo")
    shutil.copytree(project / "reports", repo / "reports")
    sh("git", "init", "-q", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", cwd=repo)
    sh("git", "clone", "-q", str(repo), str(tmp_path / "clone"), cwd=tmp_path)
    jobs = planned_jobs(tmp_path / "clone")
    runs = {(e, str(s)) for e, s in load_pipeline(repo / TINY).runs()}
    assert trained(jobs) == runs
    assert {rule for rule, _ in jobs} >= {"prepare_dataset", "evaluate_run", "aggregate_study"}


def test_a_copied_pipeline_with_one_more_experiment_trains_only_it(project):
    tiny = yaml.safe_load((project / TINY).read_text())
    tiny["experiments"]["mlp_slow"] = {**tiny["experiments"]["mlp"], "training": {"lr": 0.001}}
    (project / "my.yaml").write_text(yaml.safe_dump(tiny))
    before = digest(project / layout(project).reports)
    jobs = jobs_of(snakemake(project, config="my.yaml"))
    assert trained(jobs) == {("mlp_slow", "0"), ("mlp_slow", "1")}
    assert not any(rule == "prepare_dataset" for rule, _ in jobs)
    mine = layout(project, "my.yaml")
    assert mine.reports == "reports/pipelines/my"
    table = read_tidy(project / mine.report("metrics.csv"))
    assert set(table["experiment"]) == {"mlp", "conv", "mlp_slow"}
    assert digest(project / layout(project).reports) == before, "tiny's reports untouched"
    assert "Nothing to be done" in snakemake(project, config="my.yaml").stderr


def test_editing_a_dataset_retrains_everything_on_it_in_one_run(project):
    """The prepared data's path is its config's hash: one call prepares, retrains, reports."""
    old = layout(project)

    def fewer_digits(tiny: dict) -> None:
        tiny["datasets"]["digits"]["limit"] = 300

    with edited_yaml(project / TINY, fewer_digits):
        jobs = jobs_of(snakemake(project))
        new = layout(project)
        assert trained(jobs) == {("mlp", "0"), ("mlp", "1"), ("conv", "0")}
        prepared = f"dataset=digits, hash={new.pipeline.dataset_hash('digits')}"
        assert ("prepare_dataset", prepared) in jobs
        assert sum(rule == "prepare_dataset" for rule, _ in jobs) == 1
        again = snakemake(project)
        assert "Nothing to be done" in again.stdout + again.stderr
        meta = (project / new.prepared("digits") / "meta.json").read_text()
        assert '"train"' in meta
    # both configs of the dataset keep their own folder: neither overwrote the other
    assert old.prepared("digits") != new.prepared("digits")
    assert (project / old.prepared("digits")).is_dir()
    back = planned_jobs(project)
    assert not trained(back), "the old config's runs are still there: nothing retrains"
    assert ("aggregate_study", "study=smoke") in back, "its reports are drawn from them again"


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
    snakemake(project, "--report", "report.html")
    assert (project / "report.html").stat().st_size > 10_000


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
    assert "test_error" in metrics and "timestamp" not in metrics
    sh("dvc", "plots", "show", "-o", str(tmp_path / "plots"), cwd=repo)
    assert (tmp_path / "plots" / "index.html").is_file()
