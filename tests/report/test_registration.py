"""Registration (`methodlib register`, claims.lock): a design fixed before its confirmatory
results is `registered`; a change after them is refused unless declared with `--amend`, and
is then shown as `amended after results` with its reason; seeds added after results are a
second look; anything not in the lock, or no longer its locked design, is exploratory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from methodlib.cli import main
from methodlib.errors import RunError
from methodlib.paths import Layout, lock_file
from methodlib.report.claims import evaluate_claims
from methodlib.report.registration import (
    claim_design,
    design_hash,
    read_lock,
    registration_state,
)
from methodlib.spec import load_pipeline, validate_pipeline
from methodlib.workflow import Inputs
from tests.conftest import TINY_DATASET
from tests.report.run_tables import run_table

METRIC = "test_calibrated_nll"
CONFIRMATORY = [3, 4, 5]


def raw_pipeline(**claim) -> dict:
    """Two experiments on six seeds (0-2 the pilot, 3-5 confirmatory) and one claim."""
    experiment = {"dataset": "digits", "model": "lenet300_100", "method": {"name": "dense"}}
    base = {
        "statement": "exp matches other",
        "paper": "Table 1",
        "metrics": [METRIC],
        "equivalent": ["exp", "other"],
        "margin": 0.05,
        "seeds": CONFIRMATORY,
    }
    return {
        "seeds": [0, 1, 2, 3, 4, 5, 6, 7],
        "defaults": {"device": "cpu"},
        "datasets": {"digits": TINY_DATASET},
        "experiments": {"exp": experiment, "other": {**experiment, "model": "lenet5"}},
        "claims": {"match": {**base, **claim}},
    }


def tidy(seeds: list[int]) -> pd.DataFrame:
    return run_table({e: {s: 0.1 + 0.001 * s for s in seeds} for e in ("exp", "other")}, METRIC)


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


class Project:
    """A git repository holding pipeline.yaml, its claims.lock and reports/metrics.csv."""

    def __init__(self, root: Path):
        self.root = root
        self.pipeline_file = root / "pipeline.yaml"
        self.lock = root / "claims.lock"
        self.metrics = root / "reports" / "metrics.csv"
        git(root, "init", "-q")

    def write(self, raw: dict) -> None:
        self.pipeline_file.write_text(yaml.safe_dump(raw))
        git(self.root, "add", "pipeline.yaml")
        git(self.root, "commit", "-q", "-m", "pipeline")

    def results(self, seeds: list[int]) -> None:
        self.metrics.parent.mkdir(exist_ok=True)
        tidy(seeds).to_csv(self.metrics, index=False)

    def register(self, *args: str) -> int:
        files = ["--pipeline", str(self.pipeline_file), "--lock", str(self.lock)]
        return main(["register", *files, "--metrics", str(self.metrics), *args])

    def state(self) -> dict:
        pipeline = load_pipeline(self.pipeline_file)
        return registration_state(read_lock(self.lock), pipeline, "match", pipeline.claims["match"])

    def head(self) -> str:
        return git(self.root, "rev-parse", "HEAD").strip()


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path)


def test_a_margin_edited_after_results_is_refused_then_flagged_with_its_reason(project, capsys):
    project.write(raw_pipeline())
    assert project.register() == 0
    assert project.state()["state"] == "registered"
    assert project.state()["commit"] == project.head() and project.state()["dirty"] is False
    project.results([0, 1, 2, *CONFIRMATORY])
    project.write(raw_pipeline(margin=0.10))
    locked = project.lock.read_text()
    capsys.readouterr()

    assert project.register() == 1
    error = capsys.readouterr().err
    assert "claims.match" in error and "changed: margin" in error
    assert 'methodlib register --amend "why" match' in error
    assert project.lock.read_text() == locked, "a refused registration writes nothing"
    state = project.state()
    assert state["state"] == "exploratory"
    assert state["note"] == "design changed since registration; run methodlib register"

    assert project.register("--amend", "the paper's margin is 10 %") == 0
    state = project.state()
    assert state["state"] == "amended after results"
    (amendment,) = state["amendments"]
    assert amendment["reason"] == "the paper's margin is 10 %"
    assert amendment["changed"] == ["margin"] and amendment["after_results"]
    assert amendment["commit"] == project.head() and state["looks"] == 1


def test_a_change_before_results_is_allowed_and_pilot_seeds_are_not_results(project):
    project.write(raw_pipeline())
    project.results([0, 1, 2])  # the pilot only
    assert project.register() == 0
    project.write(raw_pipeline(margin=0.10, test="welch", alpha=0.01))
    assert project.register() == 0
    state = project.state()
    assert state["state"] == "registered"
    (amendment,) = state["amendments"]
    assert amendment["reason"] == "before results" and not amendment["after_results"]
    assert amendment["changed"] == ["alpha", "margin"]


def test_seeds_added_after_results_are_a_second_look(project, capsys):
    project.write(raw_pipeline(seeds=[3, 4]))
    assert project.register() == 0
    project.results([3, 4])
    project.write(raw_pipeline(seeds=[3, 4, 5, 6, 7]))
    assert project.register() == 0, "a look is the sequential design: no --amend needed"
    assert "look" in capsys.readouterr().out
    state = project.state()
    assert state["state"] == "registered" and state["looks"] == 2
    assert state["amendments"][-1]["looks_after"] == 2
    assert state["amendments"][-1]["changed"] == ["seeds"]
    pipeline = load_pipeline(project.pipeline_file)
    (record,) = evaluate_claims(pipeline, tidy([3, 4]), read_lock(project.lock))
    assert record["registration"]["looks"] == 2 and record["origin"] == "paper"


def test_seeds_added_after_they_ran_need_an_amendment(project):
    """Adding seeds whose results were already seen is not a look: it is choosing them."""
    project.write(raw_pipeline(seeds=[3, 4]))
    assert project.register() == 0
    project.results([3, 4, 5])
    project.write(raw_pipeline(seeds=[3, 4, 5]))
    assert project.register() == 1
    assert project.register("--amend", "seed 5 had finished") == 0
    assert project.state()["state"] == "amended after results"
    assert project.state()["looks"] == 2


def test_registering_over_existing_results_is_refused_without_amend(project, capsys):
    project.write(raw_pipeline())
    project.results(CONFIRMATORY)
    assert project.register() == 1
    assert "already have results at confirmatory seeds [3, 4, 5]" in capsys.readouterr().err
    assert not project.lock.exists()
    assert project.register("--amend", "registered late") == 0
    assert project.state()["state"] == "amended after results"


def test_an_unchanged_design_is_a_no_op(project, capsys):
    project.write(raw_pipeline())
    assert project.register() == 0
    before = (project.lock.read_bytes(), project.lock.stat().st_mtime_ns)
    project.results(CONFIRMATORY)
    git(project.root, "commit", "-q", "--allow-empty", "-m", "later")
    assert project.register() == 0
    assert project.register("--amend", "nothing changed") == 0
    assert (project.lock.read_bytes(), project.lock.stat().st_mtime_ns) == before
    assert "unchanged  match" in capsys.readouterr().out
    assert project.state()["state"] == "registered" and project.state()["amendments"] == []


def test_a_claim_that_left_the_pipeline_is_removed_without_results_else_kept(project, capsys):
    raw = raw_pipeline()
    raw["claims"]["other_claim"] = {**raw["claims"]["match"], "statement": "another"}
    project.write(raw)
    assert project.register() == 0
    project.write(raw_pipeline())
    project.results([0, 1])  # pilot seeds: the dropped claim never had results
    assert project.register() == 0
    assert set(read_lock(project.lock)) == {"match"}

    project.write(raw)
    assert project.register() == 0
    project.results(CONFIRMATORY)
    project.write(raw_pipeline())
    assert project.register() == 0
    assert "dropped    other_claim" in capsys.readouterr().out
    assert read_lock(project.lock)["other_claim"]["dropped"]["commit"] == project.head()


def test_the_hash_is_stable_across_processes_and_claim_order():
    raw = raw_pipeline()
    raw["claims"]["second"] = {**raw["claims"]["match"], "statement": "another"}
    pipeline = validate_pipeline(raw)
    reordered = validate_pipeline({**raw, "claims": dict(reversed(raw["claims"].items()))})
    ours = design_hash(claim_design(pipeline, pipeline.claims["match"]))
    assert ours == design_hash(claim_design(reordered, reordered.claims["match"]))
    shuffled = validate_pipeline(raw_pipeline(seeds=[5, 3, 4]))
    assert design_hash(claim_design(shuffled, shuffled.claims["match"])) == ours
    code = (
        "import sys, yaml; from methodlib.spec import validate_pipeline; "
        "from methodlib.report.registration import claim_design, design_hash; "
        "p = validate_pipeline(yaml.safe_load(sys.stdin.read())); "
        "print(design_hash(claim_design(p, p.claims['match'])))"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code],
            input=yaml.safe_dump(raw),
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == ours


def test_the_design_is_what_decides_not_what_presents():
    pipeline = validate_pipeline(raw_pipeline())
    design = claim_design(pipeline, pipeline.claims["match"])
    assert design["arms"]["exp"] == {"experiment": "exp", "hash": pipeline.experiment_hash("exp")}
    assert design["directions"] == {METRIC: "lower"} and design["seeds"] == CONFIRMATORY
    raw = raw_pipeline()
    raw["experiments"]["exp"]["training"] = {"lr": 0.1}  # a new config is a new design
    relabelled = raw_pipeline()
    relabelled["experiments"]["exp"]["label"] = "a new name"
    relabelled["claims"] = {"renamed": relabelled["claims"]["match"]}
    hashes = [
        design_hash(claim_design(p, next(iter(p.claims.values()))))
        for p in map(validate_pipeline, (raw_pipeline(), raw, relabelled))
    ]
    assert hashes[0] != hashes[1], "an arm's new config changes the design"
    assert hashes[0] == hashes[2], "a label or the claim's name does not"


def test_an_unregistered_claim_is_exploratory_and_decided_at_one_look(tmp_path):
    pipeline = validate_pipeline(raw_pipeline())
    (record,) = evaluate_claims(pipeline, tidy(CONFIRMATORY))
    assert record["registration"]["state"] == "exploratory"
    assert record["registration"]["looks"] == 1 and record["registration"]["registered"] is None
    assert record["verdict"] in ("holds", "not shown")
    missing = read_lock(tmp_path / "claims.lock")
    state = registration_state(missing, pipeline, "match", pipeline.claims["match"])
    assert state == record["registration"]


def test_a_lock_edited_into_another_shape_is_refused(tmp_path):
    lock = tmp_path / "claims.lock"
    lock.write_text("match: {hash: 0123456789abcdef}\n")
    with pytest.raises(RunError, match="'match' has no design and hash"):
        read_lock(lock)


def test_the_lock_sits_beside_its_pipeline_and_decides_the_claims_again(tmp_path):
    assert lock_file("pipeline.yaml") == "claims.lock"
    assert lock_file("configs/tiny.yaml") == "configs/tiny.claims.lock"
    file = tmp_path / "pipeline.yaml"
    layout = Layout(validate_pipeline(raw_pipeline()), file)
    inputs = Inputs(layout, ancient=str)
    assert inputs.claims_lock(SimpleNamespace()) == []
    Path(layout.lock).write_text("{}\n")
    assert inputs.claims_lock(SimpleNamespace()) == [layout.lock]
