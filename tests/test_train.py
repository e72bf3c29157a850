"""The shared training loop: determinism, resuming after an interruption, stopping on a
non-finite loss, initialising from another run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from methodlib.errors import RunError
from methodlib.methods.base import Objective
from methodlib.methods.pruning.dense import Dense
from methodlib.train import CHECKPOINT, load_weights, train_run
from tests.conftest import interrupted_in_epoch, tiny_pipeline

OUTPUTS = ("predictions.npz", "model.pt", "train_log.csv", "run.json")


def run(pipeline, tmp_path, data_root, name="run", seed=0):
    out = tmp_path / name
    train_run(pipeline, "exp", seed, out, data_dir=data_root / "digits", progress=False)
    return out


def probs(run_dir):
    with np.load(run_dir / "predictions.npz") as data:
        return data["probs"]


def test_run_writes_outputs_and_provenance(tmp_path, data_root):
    out = run(tiny_pipeline(), tmp_path, data_root)
    for name in OUTPUTS:
        assert (out / name).is_file()
    assert not (out / CHECKPOINT).exists(), "finished runs drop their resume state"
    p = probs(out)
    assert p.shape[0] == 1 and p.shape[2] == 10
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
    record = (out / "run.json").read_text()
    assert '"config_hash"' in record and '"torch"' in record and '"device": "cpu"' in record


def test_same_seed_same_result_other_seed_differs(tmp_path, data_root):
    pipeline = tiny_pipeline(seeds=[0, 1])
    a = run(pipeline, tmp_path, data_root, "a")
    b = run(pipeline, tmp_path, data_root, "b")
    c = run(pipeline, tmp_path, data_root, "c", seed=1)
    np.testing.assert_array_equal(probs(a), probs(b))
    assert not np.array_equal(probs(a), probs(c))


def test_interrupted_run_resumes_to_the_same_weights(tmp_path, data_root, monkeypatch):
    pipeline = tiny_pipeline(model="lenet5")
    reference = run(pipeline, tmp_path, data_root, "reference")

    with interrupted_in_epoch(monkeypatch, Dense, 1):
        run(pipeline, tmp_path, data_root, "resumed")
    resumed = tmp_path / "resumed"
    assert (resumed / CHECKPOINT).is_file()
    assert not any((resumed / name).exists() for name in OUTPUTS), "no half-finished outputs"
    run(pipeline, tmp_path, data_root, "resumed")
    np.testing.assert_array_equal(probs(reference), probs(resumed))
    assert '"epochs_resumed_from": 1' in (resumed / "run.json").read_text()


def test_checkpoint_of_another_config_is_not_resumed(tmp_path, data_root, monkeypatch):
    with interrupted_in_epoch(monkeypatch, Dense, 0):
        run(tiny_pipeline(), tmp_path, data_root, "r")
    out = run(tiny_pipeline(training={"lr": 0.01}), tmp_path, data_root, "r")
    assert '"epochs_resumed_from": 0' in (out / "run.json").read_text()


def test_corrupt_checkpoint_gets_a_clear_error(tmp_path, data_root):
    state = tmp_path / "r" / CHECKPOINT
    state.parent.mkdir(parents=True)
    state.write_bytes(b"not a checkpoint")
    with pytest.raises(RunError, match="unreadable checkpoint"):
        run(tiny_pipeline(), tmp_path, data_root, "r")


def test_non_finite_loss_stops_with_epoch_and_step(tmp_path, data_root, monkeypatch):
    original = Dense.loss

    def diverging(self, model, x, y, ctx):
        loss = original(self, model, x, y, ctx)
        return loss * float("nan") if (ctx.epoch, ctx.step) == (1, 2) else loss

    monkeypatch.setattr(Dense, "loss", diverging)
    with pytest.raises(RunError, match=r"nan at epoch 2, step 3"):
        run(tiny_pipeline(), tmp_path, data_root)
    assert not any((tmp_path / "run" / name).exists() for name in OUTPUTS)


def test_init_from_starts_at_the_other_runs_weights(tmp_path, data_root):
    still = {"optimizer": "sgd", "momentum": 0.0, "lr": 1e-12, "epochs": 1}
    pipeline = tiny_pipeline(
        others={
            "fine": {
                "dataset": "digits",
                "model": "lenet300_100",
                "method": {"name": "dense"},
                "init_from": "exp",
                "training": still,
            }
        }
    )
    source = run(pipeline, tmp_path, data_root, "source")
    fine, data = tmp_path / "fine", data_root / "digits"
    with pytest.raises(RunError, match="starts from 'exp': give its run folder"):
        train_run(pipeline, "fine", 0, fine, data_dir=data, progress=False)
    train_run(pipeline, "fine", 0, fine, data_dir=data, init_dir=source, progress=False)
    np.testing.assert_allclose(probs(fine), probs(source), atol=1e-5)
    with pytest.raises(RunError, match="does not exist"):
        load_weights(tmp_path / "missing")


def test_objectives_step_before_the_loss_in_order_and_are_logged(tmp_path, data_root, monkeypatch):
    calls = []

    def objective(name):
        def loss(model, x, y, ctx):
            calls.append(name)
            return model(x).square().mean()

        return Objective(name, [{"params": list(model_params)}], 1e-4, f"method.{name}_lr", loss)

    def objectives(self, model):
        model_params[:] = list(model.parameters())
        return [objective("first"), objective("second")]

    model_params, original = [], Dense.loss
    monkeypatch.setattr(Dense, "objectives", objectives)
    monkeypatch.setattr(Dense, "loss", lambda *a: (calls.append("loss"), original(*a))[1])
    out = tmp_path / "run"
    train_run(tiny_pipeline(), "exp", 0, out, data_dir=data_root / "digits", progress=False)
    assert calls[:6] == ["first", "second", "loss"] * 2
    log = pd.read_csv(out / "train_log.csv")
    assert list(log.columns[-2:]) == ["first_loss", "second_loss"]
    assert (log["first_loss"] > 0).all()


def test_amp_and_compile_are_ignored_on_the_cpu_with_a_log_line(tmp_path, data_root, capsys):
    plain = run(tiny_pipeline(), tmp_path, data_root, "plain")
    capsys.readouterr()
    options = run(tiny_pipeline(training={"amp": True, "compile": True}), tmp_path, data_root, "o")
    err = capsys.readouterr().err
    assert "exp seed 0: training.amp is ignored on cpu (CUDA only)" in err
    assert "exp seed 0: training.compile is ignored on cpu (CUDA only)" in err
    np.testing.assert_array_equal(probs(plain), probs(options))


def epoch_rates(training) -> list[float]:
    """The rate of each epoch under `training`'s schedule (the loop steps it once an epoch)."""
    import torch

    from methodlib.loop import make_optimizer, make_scheduler

    optimizer = make_optimizer([{"params": [torch.nn.Parameter(torch.zeros(1))]}], training)
    scheduler = make_scheduler(optimizer, training)
    rates = []
    for _ in range(training.epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_step_schedule_divides_the_rate_by_ten_at_the_milestones():
    """mfigurnov/sact's CIFAR schedule (0.1, ÷10 after 60 %, 75 % and 90 % of the steps)
    scaled to 20 epochs: 12 epochs at 0.1, 3 at 0.01, 3 at 0.001, 2 at 0.0001; without
    `lr_milestones` the step schedule keeps its ½ and ¾."""
    from methodlib.spec import TrainingSpec

    reference = TrainingSpec(
        epochs=20, lr=0.1, optimizer="sgd", lr_schedule="step", lr_milestones=[0.6, 0.75, 0.9]
    )
    expected = [0.1] * 12 + [0.01] * 3 + [0.001] * 3 + [0.0001] * 2
    np.testing.assert_allclose(epoch_rates(reference), expected, rtol=1e-9)
    default = TrainingSpec(epochs=8, lr=0.1, optimizer="sgd", lr_schedule="step")
    np.testing.assert_allclose(epoch_rates(default), [0.1] * 4 + [0.01] * 2 + [0.001] * 2)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"lr_milestones": [0.5]}, "set lr_schedule: step"),
        ({"lr_schedule": "step", "lr_milestones": [0.75, 0.5]}, "must increase"),
        ({"lr_schedule": "step", "lr_milestones": [1.0]}, "less than 1"),
    ],
)
def test_milestones_need_the_step_schedule_and_increasing_fractions(fields, message):
    from pydantic import ValidationError

    from methodlib.spec import TrainingSpec

    with pytest.raises(ValidationError, match=message):
        TrainingSpec(**fields)
