"""The pipeline file's schema: resolution of a valid file, and one actionable message per mistake."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from methodlib.errors import SpecError
from methodlib.spec import load_pipeline, validate_pipeline

VALID = """\
seeds: [0, 1]
defaults:
  device: cpu
  training: {epochs: 3, lr: 0.01}
datasets:
  digits: {source: digits, limit: 200}
  digits_split: {source: digits, split: {val: 0.2, test: 0.3, seed: 7}}
studies:
  smoke: {title: Smoke test}
experiments:
  mlp:
    dataset: digits
    model: lenet300_100
    method: {name: dense}
    training: {lr: 0.1}
  conv:
    dataset: digits_split
    model: lenet5
    method: {name: dense}
    study: smoke
    seeds: [5]
sweeps:
  lr:
    base: {dataset: digits, model: lenet5, method: {name: dense}, study: smoke}
    grid: {training.lr: [0.1, 0.02], training.batch_size: [32]}
reports:
  error_by_model: {study: smoke, x: model, y: test_error}
"""

SWEEP_POINTS = ["lr-lr0.1-batch_size32", "lr-lr0.02-batch_size32"]
DELETE = object()


def raw_valid() -> dict[str, Any]:
    return yaml.safe_load(VALID)


def edited(edits: dict[str, Any]) -> dict[str, Any]:
    """The valid pipeline with each dotted path set to a value (or removed with DELETE)."""
    raw = raw_valid()
    for dotted, value in edits.items():
        *parents, leaf = dotted.split(".")
        target = raw
        for part in parents:
            target = target.setdefault(part, {})
        if value is DELETE:
            del target[leaf]
        else:
            target[leaf] = copy.deepcopy(value)
    return raw


def problems_of(raw: Any) -> list[str]:
    with pytest.raises(SpecError) as info:
        validate_pipeline(raw, source="pipeline.yaml")
    assert info.value.source == "pipeline.yaml"
    assert all("\n" not in p for p in info.value.problems), "each problem is one line"
    return info.value.problems


def assert_problem(problems: list[str], where: str, *fragments: str) -> None:
    matching = [p for p in problems if p.startswith(where)]
    assert matching, f"no problem starts with {where!r}: {problems}"
    assert any(all(f in p for f in fragments) for p in matching), (fragments, matching)


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(VALID)
    return path


# --- a valid file ------------------------------------------------------------------------------


def test_valid_file_resolves_experiments_and_sweeps(pipeline_file: Path) -> None:
    p = load_pipeline(pipeline_file)
    assert list(p.experiments) == ["mlp", "conv", *SWEEP_POINTS]
    assert p.runs() == [("mlp", 0), ("mlp", 1), ("conv", 5)] + [
        (name, seed) for name in SWEEP_POINTS for seed in (0, 1)
    ]
    assert p.datasets["digits_split"].split.test == 0.3
    assert p.device_of("mlp") == "cpu"
    assert p.study_names() == ["smoke", "main"]
    assert p.experiments_in("smoke") == ["conv", *SWEEP_POINTS]
    assert p.figures_in("smoke") == ["error_by_model"]


def test_training_defaults_merge_under_experiment_values(pipeline_file: Path) -> None:
    p = load_pipeline(pipeline_file)
    mlp, conv = p.experiments["mlp"].training, p.experiments["conv"].training
    assert (mlp.epochs, mlp.lr) == (3, 0.1)  # the experiment's lr wins over the default
    assert (conv.epochs, conv.lr) == (3, 0.01)
    assert conv.batch_size == 128  # neither sets it: the model's default


def test_sweep_points_take_grid_values_over_defaults(pipeline_file: Path) -> None:
    p = load_pipeline(pipeline_file)
    trainings = [p.experiments[name].training for name in SWEEP_POINTS]
    assert [(t.lr, t.batch_size, t.epochs) for t in trainings] == [(0.1, 32, 3), (0.02, 32, 3)]
    assert {p.experiments[name].model for name in SWEEP_POINTS} == {"lenet5"}


def test_seeds_of_falls_back_to_the_global_seeds(pipeline_file: Path) -> None:
    p = load_pipeline(pipeline_file)
    assert p.seeds_of("mlp") == [0, 1]
    assert p.seeds_of("conv") == [5]


def test_experiment_hash_changes_only_for_the_changed_experiment(pipeline_file: Path) -> None:
    p = load_pipeline(pipeline_file)
    hashes = {name: p.experiment_hash(name) for name in p.experiments}
    again = load_pipeline(pipeline_file)
    assert hashes == {name: again.experiment_hash(name) for name in hashes}
    assert len(set(hashes.values())) == len(hashes)

    changed = validate_pipeline(edited({"experiments.mlp.training.lr": 0.5}))
    assert changed.experiment_hash("mlp") != hashes["mlp"]
    assert all(changed.experiment_hash(n) == hashes[n] for n in hashes if n != "mlp")


def test_experiment_hash_ignores_what_does_not_change_a_run(pipeline_file: Path) -> None:
    p = load_pipeline(pipeline_file)
    relabelled = validate_pipeline(
        edited({"experiments.mlp.description": "same run", "experiments.mlp.seeds": [3]})
    )
    assert relabelled.experiment_hash("mlp") == p.experiment_hash("mlp")


# --- mistakes in a well-formed file ------------------------------------------------------------

_LOOP = {"experiments.mlp.init_from": "conv", "experiments.conv.init_from": "mlp"}


@pytest.mark.parametrize(
    ("edits", "where", "fragments"),
    [
        pytest.param(
            {"experiments.mlp.method.name": "dnese"},
            "experiments.mlp.method.name",
            ["'dnese'", "did you mean 'dense'"],
            id="unknown-method",
        ),
        pytest.param(
            {"datasets.digits.source": "lokal"},
            "datasets.digits.source",
            ["'lokal'", "did you mean 'local'"],
            id="unknown-source",
        ),
        pytest.param(
            {"datasets.digits": {"source": "local", "format": "mnist", "path": "raw"}},
            "datasets.digits.format",
            ["'mnist'", "did you mean 'mnist_idx'"],
            id="unknown-local-format",
        ),
        pytest.param(
            {"experiments.mlp.model": "lenet300"},
            "experiments.mlp.model",
            ["'lenet300'", "did you mean 'lenet300_100'"],
            id="unknown-model",
        ),
        pytest.param(
            {"experiment": {}},
            "experiment:",
            ["unknown key 'experiment'", "did you mean 'experiments'"],
            id="unknown-key-top-level",
        ),
        pytest.param(
            {"experiments.mlp.seed": [1]},
            "experiments.mlp.seed:",
            ["unknown key 'seed'", "did you mean 'seeds'"],
            id="unknown-key-experiment",
        ),
        pytest.param(
            {"experiments.mlp.training.epoch": 3},
            "experiments.mlp.training.epoch:",
            ["unknown key 'epoch'", "did you mean 'epochs'"],
            id="unknown-key-training",
        ),
        pytest.param(
            {"datasets.digits_split.split.vall": 0.1},
            "datasets.digits_split.split.vall:",
            ["unknown key 'vall'", "did you mean 'val'"],
            id="unknown-key-split",
        ),
        pytest.param(
            {"defaults.trainig": {}},
            "defaults.trainig:",
            ["unknown key 'trainig'", "did you mean 'training'"],
            id="unknown-key-defaults",
        ),
        pytest.param(  # the second member of the dataset union: its own keys are suggested
            {
                "datasets.digits": {
                    "source": "local",
                    "format": "cifar10",
                    "path": "raw",
                    "offical_test": False,
                }
            },
            "datasets.digits.offical_test:",
            ["unknown key 'offical_test'", "did you mean 'official_test'"],
            id="unknown-key-local-dataset",
        ),
        pytest.param(
            {"experiments.mlp.method.threshold": 3},
            "experiments.mlp.method.threshold:",
            ["unknown key 'threshold'", "allowed: name"],
            id="unknown-key-method",
        ),
        pytest.param(
            {"experiments.mlp.model": DELETE},
            "experiments.mlp.model",
            ["required key is missing"],
            id="missing-model",
        ),
        pytest.param({"datasets": DELETE}, "datasets:", ["required"], id="missing-datasets"),
        pytest.param(
            {"experiments.mlp.training.epochs": "ten"},
            "experiments.mlp.training.epochs",
            ["integer", "'ten'"],
            id="string-epochs",
        ),
        pytest.param(
            {"experiments": ["mlp"]},
            "experiments:",
            ["dictionary"],
            id="experiments-not-a-mapping",
        ),
        pytest.param(
            {"experiments.mlp.training.epochs": 0},
            "experiments.mlp.training.epochs",
            ["greater than 0", "got 0"],
            id="zero-epochs",
        ),
        pytest.param(
            {"experiments.mlp.training.epochs": -2},
            "experiments.mlp.training.epochs",
            ["greater than 0", "got -2"],
            id="negative-epochs",
        ),
        pytest.param(
            {"experiments.mlp.training.lr": 0},
            "experiments.mlp.training.lr",
            ["greater than 0"],
            id="zero-lr",
        ),
        pytest.param(
            {"experiments.mlp.training.lr": -0.1},
            "experiments.mlp.training.lr",
            ["greater than 0", "got -0.1"],
            id="negative-lr",
        ),
        pytest.param(
            {"experiments.mlp.training.batch_size": 0},
            "experiments.mlp.training.batch_size",
            ["greater than 0"],
            id="zero-batch-size",
        ),
        pytest.param(
            {"sweeps.lr.grid": {"training.lr": [0.1, -1]}},
            "experiments.lr-lr-1.training.lr [from sweeps.lr",
            ["greater than 0"],
            id="bad-value-in-sweep-names-the-sweep",
        ),
        pytest.param({"seeds": []}, "seeds:", ["at least 1"], id="empty-seeds"),
        pytest.param(
            {"experiments.conv.seeds": []},
            "experiments.conv.seeds:",
            ["at least 1"],
            id="empty-experiment-seeds",
        ),
        pytest.param({"seeds": [1, 1]}, "seeds:", ["distinct"], id="duplicate-seeds"),
        pytest.param(
            {"experiments.conv.seeds": [4, 2, 4]},
            "experiments.conv.seeds:",
            ["distinct"],
            id="duplicate-experiment-seeds",
        ),
        pytest.param(
            {"datasets.digits.split": {"val": 0.5, "test": 0.5}},
            "datasets.digits.split",
            ["too little to train on"],
            id="split-leaves-no-training-data",
        ),
        pytest.param(
            {
                "sweeps.lr.grid": {"training.batch_size": [32, 64]},
                "experiments.lr-batch_size64": {"dataset": "digits", "model": "lenet5"},
            },
            "sweeps.lr:",
            ["'lr-batch_size64'", "already exists"],
            id="sweep-expands-to-an-existing-name",
        ),
        pytest.param(
            {"sweeps.lr.grid": {"model.depth": [1, 2]}},
            "sweeps.lr.grid.model.depth",
            ["base.model", "not a mapping"],
            id="sweep-grid-key-through-a-value",
        ),
        pytest.param(
            {"sweeps.lr.grid": {1: [0.1]}},
            "sweeps.lr.grid.1",
            ["valid string"],
            id="sweep-grid-key-not-a-string",
        ),
        pytest.param(
            {"experiments.mlp.dataset": "digit"},
            "experiments.mlp.dataset",
            ["'digit' is not defined", "did you mean 'digits'"],
            id="undefined-dataset",
        ),
        pytest.param(
            {"experiments.mlp.study": "smok"},
            "experiments.mlp.study",
            ["'smok' is not declared", "did you mean 'smoke'"],
            id="undefined-study",
        ),
        pytest.param(
            {"reports.error_by_model.study": "smok"},
            "reports.error_by_model.study",
            ["'smok' is not declared", "did you mean 'smoke'"],
            id="undefined-report-study",
        ),
        pytest.param(
            {"experiments.mlp.init_from": "cnv"},
            "experiments.mlp.init_from",
            ["'cnv' is not an experiment", "did you mean 'conv'"],
            id="init-from-unknown-experiment",
        ),
        pytest.param(
            {"experiments.mlp.init_from": "mlp"},
            "experiments.mlp.init_from",
            ["loops"],
            id="init-from-itself",
        ),
        pytest.param(_LOOP, "experiments.mlp.init_from", ["loops"], id="init-from-loop"),
        pytest.param(
            {"experiments.mlp.init_from": "conv"},
            "experiments.mlp.init_from",
            ["'conv' does not run every seed"],
            id="init-from-missing-seeds",
        ),
    ],
)
def test_mistake_is_reported_with_its_yaml_path(
    edits: dict[str, Any], where: str, fragments: list[str]
) -> None:
    assert_problem(problems_of(edited(edits)), where, *fragments)


def test_one_typo_gives_one_problem() -> None:
    assert len(problems_of(edited({"experiments.mlp.method.name": "dnese"}))) == 1


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(
        edited({"experiments.mlp.model": "lenet", "experiments.conv.training.lr": -1})
    )
    assert_problem(problems, "experiments.mlp.model")
    assert_problem(problems, "experiments.conv.training.lr")


def test_a_valid_sweep_point_can_be_started_from() -> None:
    p = validate_pipeline(edited({"experiments.mlp.init_from": SWEEP_POINTS[0]}))
    assert p.experiments["mlp"].init_from == SWEEP_POINTS[0]


# --- files that are not a pipeline -------------------------------------------------------------

_DUPLICATE_EXPERIMENT = VALID.replace("sweeps:", "  mlp: {dataset: digits}\nsweeps:")


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        pytest.param(_DUPLICATE_EXPERIMENT.encode(), ["duplicate key 'mlp'", "line"], id="dup-key"),
        pytest.param(
            b"seeds: [0]\nseeds: [1]\n", ["duplicate key 'seeds'", "line 2"], id="dup-top"
        ),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00", ["not a text file"], id="binary"),
        pytest.param(b"datasets: {digits: [1, 2\n", ["not valid YAML"], id="broken-syntax"),
        pytest.param(b"datasets:\n\t- tab\n", ["not valid YAML"], id="tab-indent"),
        pytest.param(b"a: \x00\n", ["not valid YAML"], id="nul-character"),
        pytest.param(b"- datasets\n- experiments\n", ["got list"], id="top-level-list"),
        pytest.param(b"just words\n", ["got str"], id="top-level-scalar"),
        pytest.param(b"", ["got empty"], id="empty"),
        pytest.param(b"# nothing but a comment\n", ["got empty"], id="only-comment"),
    ],
)
def test_file_that_is_not_a_pipeline(tmp_path: Path, content: bytes, fragments: list[str]) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(content)
    with pytest.raises(SpecError) as info:
        load_pipeline(path)
    assert str(path) in str(info.value)
    assert len(info.value.problems) == 1
    problem = info.value.problems[0]
    assert "\n" not in problem
    assert all(f in problem for f in fragments), problem


@pytest.mark.parametrize("where", ["top", "nested"])
def test_yaml_tags_are_refused_not_run(tmp_path: Path, where: str) -> None:
    marker = tmp_path / "ran"
    tag = f'!!python/object/apply:os.system ["touch {marker}"]'
    path = tmp_path / "pipeline.yaml"
    path.write_text(tag if where == "top" else f"{VALID}description: {tag}\n")
    with pytest.raises(SpecError) as info:
        load_pipeline(path)
    assert "YAML tags are not allowed" in info.value.problems[0]
    assert not marker.exists()


@pytest.mark.parametrize("is_folder", [False, True], ids=["absent", "folder"])
def test_missing_file(tmp_path: Path, is_folder: bool) -> None:
    path = tmp_path / "pipeline.yaml"
    if is_folder:
        path.mkdir()
    with pytest.raises(SpecError) as info:
        load_pipeline(path)
    assert info.value.problems == ["file not found"]
    assert str(path) in str(info.value)


def test_a_study_can_include_another_studys_runs():
    raw = {
        "datasets": {"d": {"source": "digits"}},
        "studies": {"base": {}, "prune": {"include": ["base"]}},
        "experiments": {
            "a": {"study": "base", "dataset": "d", "model": "lenet5", "method": {"name": "dense"}},
            "b": {"study": "prune", "dataset": "d", "model": "lenet5", "method": {"name": "dense"}},
        },
    }
    pipeline = validate_pipeline(raw)
    assert pipeline.reported_experiments("prune") == ["b", "a"]
    assert pipeline.reported_experiments("base") == ["a"]
    raw["studies"]["prune"]["include"] = ["bse"]
    with pytest.raises(SpecError, match=r"studies.prune.include: 'bse' .*did you mean 'base'"):
        validate_pipeline(raw)


def test_the_dee_reference_must_be_a_deep_ensemble_of_the_study():
    exp = {"dataset": "d", "model": "lenet5", "method": {"name": "dense"}}
    raw = {
        "seeds": [0, 1],
        "datasets": {"d": {"source": "digits"}},
        "studies": {"s": {"dee_reference": "ens"}},
        "experiments": {"ens": {**exp, "study": "s", "ensemble": {}}, "x": {**exp, "study": "s"}},
    }
    assert validate_pipeline(raw).studies["s"].dee_reference == "ens"
    raw["studies"]["s"]["dee_reference"] = "x"
    with pytest.raises(SpecError, match=r"studies.s.dee_reference: 'x' has no `ensemble` block"):
        validate_pipeline(raw)
    raw["studies"]["s"]["dee_reference"] = "enz"
    with pytest.raises(SpecError, match=r"studies.s.dee_reference: 'enz' .*did you mean 'ens'"):
        validate_pipeline(raw)


def test_pruning_methods_refuse_batch_norm_models():
    exp = {"dataset": "d", "model": "lenet5_bn", "method": {"name": "sparse_vd"}}
    raw = {"datasets": {"d": {"source": "digits"}}, "experiments": {"x": exp}}
    with pytest.raises(SpecError, match=r"experiments.x: .*use model 'lenet5'"):
        validate_pipeline(raw)
    exp["method"] = {"name": "dense"}
    assert validate_pipeline(raw).experiments["x"].model == "lenet5_bn"


def test_problems_of_every_stage_come_out_in_one_pass() -> None:
    """An invalid entry, a dangling reference in a sweep's base and a misspelt figure column:
    all three at once, not one per attempt."""
    problems = problems_of(
        edited(
            {
                "experiments.mlp.training.lr": -1,
                "sweeps.lr.base.dataset": "digitz",
                "reports.error_by_model.y": "test_eror",
            }
        )
    )
    assert any(p.startswith("experiments.mlp.training.lr:") for p in problems)
    assert any("'digitz' is not defined under datasets" in p for p in problems)
    assert any(
        p.startswith("reports.error_by_model.y: 'test_eror'") and "did you mean 'test_error'" in p
        for p in problems
    )


def test_a_reference_to_an_invalid_entry_is_not_reported_twice() -> None:
    problems = problems_of(edited({"datasets.digits.limit": 0}))
    assert len(problems) == 1 and problems[0].startswith("datasets.digits.limit:")


@pytest.mark.parametrize(
    ("edits", "field"),
    [
        ({"reports.error_by_model.x": "modle"}, "x"),
        ({"reports.error_by_model.hue": "training.lrr"}, "hue"),
        ({"reports.error_by_model.filters": {"methd": "dense"}}, "filters.methd"),
        ({"reports.error_by_model.kind": "epochs", "reports.error_by_model.x": "epoch"}, "y"),
    ],
)
def test_figure_columns_are_checked_before_anything_runs(edits: dict, field: str) -> None:
    problems = problems_of(edited(edits))
    assert len(problems) == 1 and problems[0].startswith(f"reports.error_by_model.{field}:")


def test_figure_columns_may_name_metrics_log_columns_and_config_fields() -> None:
    pipeline = validate_pipeline(
        edited(
            {
                "reports.by_lr": {"study": "smoke", "x": "training.lr", "y": "test_nll"},
                "reports.curve": {"study": "smoke", "x": "samples", "y": "curve_test_nll"},
                "reports.loss": {"study": "smoke", "kind": "epochs", "x": "epoch", "y": "val_nll"},
            }
        )
    )
    assert {"by_lr", "curve", "loss"} <= set(pipeline.reports)


def test_an_included_file_adds_entries_and_errors_name_it(tmp_path: Path) -> None:
    main, study = raw_valid(), {"experiments": {}, "studies": {"extra": {}}}
    study["experiments"]["mlp_small"] = {**main["experiments"]["mlp"], "study": "extra"}
    study["experiments"]["broken"] = {**main["experiments"]["mlp"], "dataset": "digitz"}
    (tmp_path / "studies").mkdir()
    (tmp_path / "studies" / "extra.yaml").write_text(yaml.safe_dump(study))
    main["include"] = ["studies/extra.yaml"]
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(main))
    with pytest.raises(SpecError) as info:
        load_pipeline(tmp_path / "pipeline.yaml")
    assert info.value.problems == [
        "experiments.broken.dataset: 'digitz' is not defined under datasets; did you mean "
        f"'digits'? (defined: digits, digits_split) [in {tmp_path / 'studies' / 'extra.yaml'}]"
    ]
    del study["experiments"]["broken"]
    (tmp_path / "studies" / "extra.yaml").write_text(yaml.safe_dump(study))
    pipeline = load_pipeline(tmp_path / "pipeline.yaml")
    assert pipeline.experiments["mlp_small"].study == "extra"
    assert pipeline.experiment_hash("mlp_small") != pipeline.experiment_hash("mlp")


@pytest.mark.parametrize(
    ("included", "fragment"),
    [
        ({"experiments": {"mlp": {}}}, "experiments.mlp: also defined in"),
        ({"seeds": [3]}, "seeds: only the main pipeline file sets it"),
        ({"include": ["../pipeline.yaml"]}, "includes itself (a loop)"),
    ],
)
def test_included_files_cannot_redefine_or_loop(
    tmp_path: Path, included: dict, fragment: str
) -> None:
    main = raw_valid()
    main["include"] = ["studies/x.yaml"]
    (tmp_path / "studies").mkdir()
    (tmp_path / "studies" / "x.yaml").write_text(yaml.safe_dump(included))
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(main))
    with pytest.raises(SpecError, match=re.escape(fragment)):
        load_pipeline(tmp_path / "pipeline.yaml")


def test_a_run_that_starts_from_another_changes_with_it(pipeline_file: Path) -> None:
    raw = edited({"experiments.fine": {**raw_valid()["experiments"]["mlp"], "init_from": "mlp"}})
    before = validate_pipeline(raw).experiment_hash("fine")
    raw["experiments"]["mlp"]["training"]["lr"] = 0.05
    assert validate_pipeline(raw).experiment_hash("fine") != before


def test_a_dataset_hash_changes_with_its_config_only() -> None:
    a = validate_pipeline(raw_valid())
    b = validate_pipeline(edited({"datasets.digits.limit": 300}))
    assert a.dataset_hash("digits") != b.dataset_hash("digits")
    assert a.dataset_hash("digits_split") == b.dataset_hash("digits_split")


def test_a_claim_of_ours_must_say_what_is_ours() -> None:
    """`origin: ours` marks an extension the paper does not state; its statement says what is
    ours (the range, the threshold), else a reader cannot tell it from the paper's claim."""
    from pydantic import ValidationError

    from methodlib.spec import ClaimSpec

    base = {"statement": "x beats 0.15", "metrics": ["test_error"], "order": ["x", 0.15]}
    with pytest.raises(ValidationError, match="say what is ours"):
        ClaimSpec(**base, origin="ours")
    claim = ClaimSpec(
        **{**base, "statement": "x beats 0.15 (the threshold is ours)"}, origin="ours"
    )
    assert claim.origin == "ours" and claim.paper == ""


def test_a_sweep_with_select_is_a_selection_over_its_points():
    raw = edited({"sweeps.lr.select": {"by": "val_nll", "better": "lower"}})
    selection = validate_pipeline(raw).selections["lr"]
    assert selection.members == SWEEP_POINTS and selection.study == "smoke"
    assert (selection.by, selection.better) == ("val_nll", "lower")


@pytest.mark.parametrize(
    ("edits", "where"),
    [
        ({"sweeps.lr.select": {"by": "test_error", "better": "lower"}}, "sweeps.lr.select.by"),
        (
            {
                "selections.pick": {
                    "study": "smoke",
                    "members": SWEEP_POINTS,
                    "by": "test_error",
                    "better": "lower",
                }
            },
            "selections.pick.by",
        ),
    ],
    ids=["sweep", "selections"],
)
def test_a_selection_on_a_test_quantity_is_refused(edits, where):
    """Nothing computed on the test split may choose a member: the file is refused before any
    job, at the YAML path, with the validation quantity to write instead."""
    problems = problems_of(edited(edits))
    assert len(problems) == 1, problems
    assert_problem(problems, where, "'test_error' is not a validation quantity", "`val_error`")


EARLY_STOPPING = {"by": "val_nll", "better": "lower", "patience": 2}


def test_early_stopping_resolves_with_its_defaults():
    raw = edited({"experiments.mlp.training.early_stopping": EARLY_STOPPING})
    stopping = validate_pipeline(raw).experiments["mlp"].training.early_stopping
    assert (stopping.by, stopping.better, stopping.patience) == ("val_nll", "lower", 2)
    assert stopping.min_delta == 0.0 and stopping.restore_best is True
    assert validate_pipeline(raw_valid()).experiments["mlp"].training.early_stopping is None


@pytest.mark.parametrize(
    ("stopping", "fragments"),
    [
        (
            {**EARLY_STOPPING, "by": "test_nll"},
            ["'test_nll' is not a validation quantity: early stopping reads", "`val_nll`"],
        ),
        (
            {**EARLY_STOPPING, "by": "val_los"},
            ["'val_los' is not a validation column that method 'dense' logs", "val_nll, "],
        ),
        ({**EARLY_STOPPING, "patience": 0}, ["greater than 0"]),
        ({**EARLY_STOPPING, "min_delta": -0.1}, ["greater than or equal to 0"]),
        ({**EARLY_STOPPING, "better": "smaller"}, ["'smaller' is not one of lower, higher"]),
        ({"by": "val_nll", "better": "lower"}, ["patience", "required key is missing"]),
    ],
    ids=["test-quantity", "not-logged", "patience", "min-delta", "better", "no-patience"],
)
def test_early_stopping_is_refused_at_its_yaml_path(stopping, fragments):
    problems = problems_of(edited({"experiments.mlp.training.early_stopping": stopping}))
    assert len(problems) == 1, problems
    assert_problem(problems, "experiments.mlp.training.early_stopping", *fragments)


def test_early_stopping_from_the_defaults_is_checked_against_each_experiments_log():
    """Every experiment that takes the defaults' early stopping is checked against its own
    log; one that sets `early_stopping: null` trains every epoch and is not."""
    raw = edited(
        {
            "defaults.training.early_stopping": {**EARLY_STOPPING, "by": "val_mse"},
            "experiments.mlp.training.early_stopping": None,
        }
    )
    problems = problems_of(raw)
    assert {p.split(":")[0] for p in problems} == {
        f"experiments.{name}.training.early_stopping.by" for name in ["conv", *SWEEP_POINTS]
    }
    assert_problem(problems, "experiments.conv", "(it logs val_nll, val_accuracy;")


def test_confirmatory_from_gives_each_claim_the_seeds_all_its_arms_run_above_it():
    """One line registers a whole pipeline's confirmatory design: the seeds below
    `confirmatory_from` are the pilot, the rest decide; a claim's own seeds win, and a claim
    left with fewer than two confirmatory seeds is refused before anything runs."""
    claim = {"statement": "lr 0.1 beats 0.02", "metrics": ["test_error"], "study": "smoke"}
    claim["paper"] = "Table 1"
    raw = edited(
        {
            "seeds": [0, 1, 100, 101, 102],
            "confirmatory_from": 100,
            "experiments.mlp.seeds": [0, 100, 101],
            "claims.sweep": {**claim, "order": SWEEP_POINTS},
            "claims.mixed": {**claim, "order": ["mlp", SWEEP_POINTS[0]]},
            "claims.own": {**claim, "order": SWEEP_POINTS, "seeds": [101, 102]},
        }
    )
    claims = validate_pipeline(raw).claims
    assert claims["sweep"].seeds == [100, 101, 102]
    assert claims["mixed"].seeds == [100, 101]
    assert claims["own"].seeds == [101, 102]
    raw["experiments"]["mlp"]["seeds"] = [0, 1, 100]
    assert_problem(problems_of(raw), "claims.mixed", "confirmatory_from is 100", "[100]")


def test_an_unpaired_claim_draws_its_ensembles_from_the_ensembles_confirmatory_members():
    """An 8-member ensemble against a 2-seed run arm: the seeds every arm runs make one
    disjoint pair and no 4-set, so the ensemble arm's k-sets come from its own confirmatory
    members (`ensemble_seeds`); the run arms keep the shared seeds."""
    claim = {"statement": "an ensemble beats one run", "metrics": ["test_error"]}
    claim |= {"study": "smoke", "paper": "Table 1"}
    raw = edited(
        {
            "seeds": [0, 100, 101],
            "confirmatory_from": 100,
            "experiments.mlp.seeds": [0, 1, 100, 101, 102, 103],
            "experiments.mlp.ensemble": {},
            "claims.ensemble": {**claim, "order": ["mlp@2", SWEEP_POINTS[0]]},
            "claims.runs": {**claim, "order": ["mlp", SWEEP_POINTS[0]]},
        }
    )
    claims = validate_pipeline(raw).claims
    assert claims["ensemble"].seeds == [100, 101]
    assert claims["ensemble"].ensemble_seeds == [100, 101, 102, 103]
    assert claims["runs"].ensemble_seeds == []  # no ensemble arm: nothing to draw
    raw["claims"]["ensemble"]["ensemble_seeds"] = [100, 104]
    assert_problem(problems_of(raw), "claims.ensemble.ensemble_seeds", "[104]", "mlp")
