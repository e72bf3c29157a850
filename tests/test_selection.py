"""Selection on validation (`methodlib.selection`, rule `select_member`): a choice reads its
members' training logs and nothing else, so it cannot move when only test values change; a
missing column is a clear error; a tie goes to the member declared first."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from methodlib.cli import main
from methodlib.errors import RunError
from methodlib.paths import Layout
from methodlib.selection import choose, kept_value
from methodlib.spec import SelectionSpec, load_pipeline
from methodlib.workflow import Inputs

PIPELINE = """\
seeds: [0, 1, 2]
datasets:
  digits: {source: digits, limit: 200}
studies:
  base: {}
experiments:
  wide: {study: base, dataset: digits, model: lenet300_100, method: {name: dense}}
  conv: {study: base, dataset: digits, model: lenet5, method: {name: dense}, seeds: [0, 1]}
  other: {study: base, dataset: digits, model: lenet5, method: {name: mc_dropout}}
selections:
  pick: {study: base, members: [wide, conv], by: val_nll, better: lower}
"""

VAL_NLL = {"wide": [0.30, 0.32, 0.31], "conv": [0.25, 0.27]}
"""The members' kept validation NLL per seed: conv's is lower, so conv is chosen."""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Layout:
    """A pipeline file in an empty folder (the working directory) and its layout."""
    monkeypatch.chdir(tmp_path)
    Path("pipeline.yaml").write_text(PIPELINE)
    return Layout(load_pipeline("pipeline.yaml"), "pipeline.yaml")


def write_log(path: str | Path, rows: list[dict]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_runs(layout: Layout, val: dict[str, list[float]], test: float) -> None:
    """Every member's run folder as training leaves it: a two-epoch log whose last row holds
    `val`, and test-split outputs (predictions, metrics, a test column in the log) of `test`."""
    for member, values in val.items():
        for seed, value in zip(layout.pipeline.seeds_of(member), values, strict=True):
            run = Path(layout.run_dir(member, seed))
            rows = [
                {"epoch": 1, "train_loss": 1.0, "val_nll": value + 1, "test_error": test + 1},
                {"epoch": 2, "train_loss": test, "val_nll": value, "test_error": test},
            ]
            write_log(run / "train_log.csv", rows)
            np.savez(run / "predictions.npz", probs=np.full((1, 4, 3), test))
            (run / "metrics.json").write_text(json.dumps({"test_error": test}))


def select(layout: Layout) -> bytes:
    """`methodlib select` as the rule runs it, given the rule's inputs; the record's bytes."""
    inputs = Inputs(layout, ancient=str).selection_logs(SimpleNamespace(selection="pick"))
    out = layout.selection("pick")
    assert main(["select", "--selection", "pick", "--out", out, *inputs]) == 0
    return Path(out).read_bytes()


def test_the_rule_reads_the_members_training_logs_and_nothing_else(project):
    inputs = Inputs(project, ancient=str).selection_logs(SimpleNamespace(selection="pick"))
    expected = [
        *project.run_files("wide", "train_log.csv"),
        *project.run_files("conv", "train_log.csv"),
    ]
    assert inputs == expected and len(inputs) == 5
    assert all(Path(path).name == "train_log.csv" for path in inputs)
    assert not any("other" in path for path in inputs), "not a member"
    assert project.selection("pick") == "reports/selections/pick.json"
    assert project.selection("pick") in project.study_targets("base")
    assert project.selection("pick") in project.all_targets()
    with pytest.raises(ValueError, match="not a selection"):
        Inputs(project, ancient=str).selection_logs(SimpleNamespace(selection="wide"))


def test_a_choice_does_not_move_when_only_test_values_change(project):
    write_runs(project, VAL_NLL, test=0.10)
    first = select(project)
    record = json.loads(first)
    assert record["chosen"] == "conv" and record["by"] == "val_nll"
    assert all(Path(path).name == "train_log.csv" for path in record["inputs"])
    write_runs(project, VAL_NLL, test=0.90)  # every test output, and the log's test column
    assert select(project) == first, "test values changed the selection's record"
    write_runs(project, {"wide": VAL_NLL["conv"] + [0.26], "conv": VAL_NLL["wide"][:2]}, 0.9)
    assert json.loads(select(project))["chosen"] == "wide", "a validation change moves it"


def test_the_record_holds_every_candidates_score(project):
    write_runs(project, VAL_NLL, test=0.1)
    record = json.loads(select(project))
    wide, conv = record["candidates"]
    assert wide["experiment"] == "wide" and wide["seeds"] == [0, 1, 2]
    assert wide["values"] == VAL_NLL["wide"] and wide["n"] == 3
    assert wide["mean"] == pytest.approx(0.31) and wide["sd"] == pytest.approx(0.01)
    assert conv["values"] == VAL_NLL["conv"] and record["tied"] == []
    assert record["inputs"] == [
        *project.run_files("wide", "train_log.csv"),
        *project.run_files("conv", "train_log.csv"),
    ]


def test_a_file_that_is_not_a_members_log_is_refused(project, capsys):
    write_runs(project, VAL_NLL, test=0.1)
    logs = Inputs(project, ancient=str).selection_logs(SimpleNamespace(selection="pick"))
    predictions = f"{project.run_dir('conv', 0)}/predictions.npz"
    assert main(["select", "--selection", "pick", *logs, predictions]) == 1
    error = capsys.readouterr().err
    assert "training logs only" in error and predictions in error
    assert not Path(project.selection("pick")).exists()


@pytest.mark.parametrize(
    ("better", "values", "chosen", "tied"),
    [
        ("lower", {"wide": [0.2, 0.4], "conv": [0.3, 0.3]}, "wide", ["wide", "conv"]),
        ("higher", {"wide": [0.9, 0.8], "conv": [0.85, 0.86]}, "conv", []),
    ],
    ids=["tie-to-the-first-declared", "higher-is-better"],
)
def test_the_best_mean_wins_and_a_tie_goes_to_the_first_member(
    tmp_path, better, values, chosen, tied
):
    logs = {}
    for member, per_seed in values.items():
        for seed, value in enumerate(per_seed):
            path = tmp_path / member / f"seed{seed}.csv"
            write_log(path, [{"epoch": 1, "val_score": value}])
            logs.setdefault(member, {})[seed] = str(path)
    spec = SelectionSpec(members=list(values), by="val_score", better=better)
    record = choose("pick", spec, logs)
    assert record["chosen"] == chosen and record["tied"] == tied
    reversed_spec = spec.model_copy(update={"members": list(values)[::-1]})
    expected = "conv" if tied else chosen
    assert choose("pick", reversed_spec, logs)["chosen"] == expected, "declaration order decides"


def test_a_log_without_the_column_names_the_file_and_its_columns(tmp_path):
    log = tmp_path / "train_log.csv"
    write_log(log, [{"epoch": 1, "train_loss": 0.5, "val_loss": 0.6}])
    with pytest.raises(RunError) as info:
        kept_value(log, "val_nll")
    message = str(info.value)
    assert str(log) in message and "'val_nll'" in message
    assert "epoch, train_loss, val_loss" in message


def test_the_value_is_read_at_the_last_logged_epoch(tmp_path):
    log = tmp_path / "train_log.csv"
    write_log(log, [{"epoch": e, "val_nll": v} for e, v in [(1, 0.1), (2, 0.5), (3, 0.4)]])
    assert kept_value(log, "val_nll") == 0.4, "the run keeps its last epoch, not its best"
    write_log(log, [{"epoch": 1, "val_nll": ""}])
    with pytest.raises(RunError, match="not a finite number"):
        kept_value(log, "val_nll")


def test_after_early_stopping_the_value_is_read_at_the_kept_epoch(tmp_path):
    """A run that stopped early and restored its best epoch marks it `kept`: that row's value
    is the run's, not the last row's."""
    log = tmp_path / "train_log.csv"
    rows = [(1, 0.3, 0), (2, 0.2, 1), (3, 0.25, 0), (4, 0.26, 0)]
    write_log(log, [{"epoch": e, "val_nll": v, "kept": k} for e, v, k in rows])
    assert kept_value(log, "val_nll") == 0.2
    write_log(log, [{"epoch": e, "val_nll": v, "kept": 0} for e, v, _ in rows])
    with pytest.raises(RunError, match="0 rows are marked 'kept', not one"):
        kept_value(log, "val_nll")


def test_the_selection_module_imports_no_torch():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import methodlib.selection"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert " torch" not in result.stderr and " pandas" not in result.stderr


def test_a_sweeps_selection_is_a_target_of_its_study(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweep = """\
sweeps:
  lr:
    base: {study: base, dataset: digits, model: lenet300_100, method: {name: dense}}
    grid: {training.lr: [0.1, 0.01]}
    select: {by: val_accuracy, better: higher}
"""
    Path("pipeline.yaml").write_text(PIPELINE + sweep)
    layout = Layout(load_pipeline("pipeline.yaml"))
    assert layout.selection("lr") in layout.study_targets("base")
    logs = layout.selection_logs("lr")
    assert list(logs) == ["lr-lr0.1", "lr-lr0.01"] and all(len(s) == 3 for s in logs.values())
