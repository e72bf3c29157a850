"""A run's folder is named by its config hash, and Snakemake retrains a run whose hash
changes: a new optional field must leave the hash of every existing experiment alone while it
holds its default (`DEFAULT_NOT_A_TRIGGER`), and change it once it is set."""

from __future__ import annotations

from pathlib import Path

import pytest

from methodlib.spec import Pipeline, _hash, load_pipeline, trigger_fields, validate_pipeline

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED_TRAINING_FIELDS = (
    "epochs",
    "batch_size",
    "lr",
    "optimizer",
    "momentum",
    "weight_decay",
    "lr_schedule",
    "eval_batch_size",
)
"""TrainingSpec's fields when the published runs were trained; a field added since (`amp`,
`compile`, `early_stopping`, `lr_milestones`) stays out of the hash at its default."""

FROZEN = {
    "seeds": [0, 1],
    "defaults": {"device": "cpu", "training": {"epochs": 3, "lr": 0.003}},
    "datasets": {
        "digits": {"source": "digits", "limit": 300},
        "simplex3": {"source": "synthetic", "kind": "simplex", "dim": 3, "n": 300, "components": 2},
    },
    "experiments": {
        "dense": {"dataset": "digits", "model": "lenet300_100", "method": {"name": "dense"}},
        "sgd": {
            "dataset": "digits",
            "model": "lenet5",
            "method": {"name": "dense"},
            "training": {
                "optimizer": "sgd",
                "lr": 0.05,
                "momentum": 0.5,
                "weight_decay": 5e-4,
                "lr_schedule": "cosine",
                "batch_size": 64,
                "eval_batch_size": 500,
            },
        },
        "svd": {
            "dataset": "digits",
            "model": "lenet300_100",
            "method": {"name": "sparse_vd"},
            "init_from": "dense",
        },
        "ddpm": {
            "dataset": "simplex3",
            "model": "mlp_denoiser",
            "method": {"name": "ddpm", "steps": 8},
        },
    },
}
FROZEN_HASHES = {
    "dense": "76c6ab2fa1552f7b",
    "sgd": "2b22cd791a713109",
    "svd": "96bb347848f863c3",
    "ddpm": "0c428af30c6f315b",
}
"""Computed by the code before `amp` and `compile` existed; `ddpm`'s moved on purpose with the
diffusion methods' revision 2 (issue 31: their last-epoch validation scores and the
`elbo_draws`/`validation_samples` fields), which reruns every diffusion run (0fc600f04ca2c7bb
before)."""


def test_the_hashes_of_a_frozen_pipeline_do_not_move():
    pipeline = validate_pipeline(FROZEN)
    assert {e: pipeline.experiment_hash(e) for e in pipeline.experiments} == FROZEN_HASHES


def published_hash(pipeline: Pipeline, name: str) -> str:
    """The hash as the code of the published runs computed it: the training config holds
    the fields it had then, and nothing else."""
    resolved = pipeline.resolved_experiment(name)
    training = pipeline.experiments[name].training.model_dump(mode="json")
    resolved["training"] = {k: training[k] for k in PUBLISHED_TRAINING_FIELDS}
    source = pipeline.experiments[name].init_from
    if source is not None:
        resolved["init_from_hash"] = published_hash(pipeline, source)
    return _hash(resolved)


@pytest.mark.parametrize(
    "file",
    ["pipeline.yaml", *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("configs/*.yaml"))],
)
def test_every_experiment_of_the_projects_pipelines_keeps_its_published_hash(file):
    """Except an experiment that sets a training field added since, or starts from one that
    does (`init_from`): it is meant to rerun."""
    pipeline = load_pipeline(ROOT / file)

    def sets_a_new_field(name: str | None) -> bool:
        if name is None:
            return False
        experiment = pipeline.experiments[name]
        added = set(trigger_fields(experiment.training)) - set(PUBLISHED_TRAINING_FIELDS)
        return bool(added) or sets_a_new_field(experiment.init_from)

    for name in pipeline.experiments:
        if sets_a_new_field(name):
            continue
        assert pipeline.experiment_hash(name) == published_hash(pipeline, name), name


@pytest.mark.parametrize("field", ["amp", "compile"])
def test_turning_a_new_option_on_changes_the_hash(field):
    config = {**FROZEN, "defaults": {**FROZEN["defaults"]}}
    config["defaults"]["training"] = {**FROZEN["defaults"]["training"], field: True}
    pipeline = validate_pipeline(config)
    assert pipeline.experiment_hash("dense") != FROZEN_HASHES["dense"]
    assert pipeline.resolved_experiment("dense")["training"][field] is True


def with_training(**fields) -> dict:
    """FROZEN with `fields` in the training of its experiment `dense`."""
    config = {**FROZEN, "experiments": {**FROZEN["experiments"]}}
    config["experiments"]["dense"] = {**FROZEN["experiments"]["dense"], "training": fields}
    return config


def test_early_stopping_changes_the_hash_once_set_and_null_keeps_every_frozen_hash():
    stopping = {"by": "val_nll", "better": "lower", "patience": 2}
    pipeline = validate_pipeline(with_training(early_stopping=stopping))
    assert pipeline.experiment_hash("dense") != FROZEN_HASHES["dense"]
    resolved = pipeline.resolved_experiment("dense")["training"]["early_stopping"]
    assert resolved == {**stopping, "min_delta": 0.0, "restore_best": True}

    pipeline = validate_pipeline(with_training(early_stopping=None))
    assert {e: pipeline.experiment_hash(e) for e in pipeline.experiments} == FROZEN_HASHES
    assert "early_stopping" not in pipeline.resolved_experiment("dense")["training"]


def test_a_method_revision_reruns_its_experiments_and_revision_1_moves_nothing(monkeypatch):
    pipeline = validate_pipeline(FROZEN)
    config = type(pipeline.experiments["dense"].method)
    assert config.revision == 1 and pipeline.experiment_hash("dense") == FROZEN_HASHES["dense"]
    monkeypatch.setattr(config, "revision", 2)
    revised = validate_pipeline(FROZEN)
    assert revised.experiment_hash("dense") != FROZEN_HASHES["dense"]
    assert revised.experiment_hash("ddpm") == FROZEN_HASHES["ddpm"]  # another method: unmoved
    assert revised.resolved_experiment("dense")["method_revision"] == 2


def test_the_perforated_cnn_fix_is_a_revision():
    pipeline = load_pipeline(ROOT / "pipeline.yaml")
    perforated = [e for e, x in pipeline.experiments.items() if x.method.name == "perforated_cnn"]
    assert perforated
    assert all(pipeline.resolved_experiment(e).get("method_revision") == 2 for e in perforated)


def test_lr_milestones_change_the_hash_once_set_and_null_keeps_the_step_schedules():
    step = {"epochs": 3, "lr": 0.003, "lr_schedule": "step"}
    plain = validate_pipeline(with_training(**step))
    unset = validate_pipeline(with_training(**step, lr_milestones=None))
    moved = validate_pipeline(with_training(**step, lr_milestones=[0.6, 0.9]))
    assert unset.experiment_hash("dense") == plain.experiment_hash("dense")
    assert "lr_milestones" not in unset.resolved_experiment("dense")["training"]
    assert moved.experiment_hash("dense") != plain.experiment_hash("dense")
    assert moved.resolved_experiment("dense")["training"]["lr_milestones"] == [0.6, 0.9]
