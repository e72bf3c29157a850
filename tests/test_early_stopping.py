"""Early stopping on validation (`training.early_stopping`, `methodlib/early_stopping.py`): a
run stops after `patience` epochs without improvement, ends with its best epoch's weights as
if it had trained that many epochs, marks that epoch `kept` in its log (which a selection
reads), and stops and restores the same way after a resume from its checkpoint.

The validation curve is scripted: the classification routine's `val_nll` (or `val_accuracy`)
is replaced by the next value of a list, one per epoch trained, so the stopping epoch is known
in advance whatever the tiny network learns."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
import torch

from methodlib.methods.pruning.dense import Dense
from methodlib.routines.classification import ClassificationRoutine
from methodlib.selection import kept_value
from methodlib.train import CHECKPOINT, train_run
from tests.conftest import interrupted_in_epoch, tiny_pipeline


@contextmanager
def scripted(monkeypatch, column: str, values: list[float]):
    """Validation under it reports `values[i]` as `column` at the i-th epoch trained (the
    routine's own columns otherwise): one curve, shared by an interrupted run and its resume."""
    original = ClassificationRoutine.validation_columns
    calls = []

    def columns(self, *args, **kwargs):
        row = original(self, *args, **kwargs)
        row[column] = values[len(calls)]
        calls.append(row[column])
        return row

    with monkeypatch.context() as patch:
        patch.setattr(ClassificationRoutine, "validation_columns", columns)
        yield calls


def pipeline(epochs: int, **stopping):
    training = {"epochs": epochs}
    if stopping:
        training["early_stopping"] = {"by": "val_nll", "better": "lower", **stopping}
    return tiny_pipeline(training=training)


def run(p, tmp_path, data_root, name):
    out = tmp_path / name
    train_run(p, "exp", 0, out, data_dir=data_root / "digits", progress=False)
    return out


def outputs(run_dir):
    """What a run keeps: its test outputs and its weights."""
    with np.load(run_dir / "predictions.npz") as data:
        probs = data["probs"]
    weights = torch.load(run_dir / "model.pt", weights_only=True)["model"]
    return probs, weights


def assert_same_run(a, b):
    (probs_a, weights_a), (probs_b, weights_b) = outputs(a), outputs(b)
    np.testing.assert_array_equal(probs_a, probs_b)
    assert weights_a.keys() == weights_b.keys()
    for key in weights_a:
        assert torch.equal(weights_a[key], weights_b[key]), key


CURVE = [1.0, 0.8, 0.85, 0.9, 0.7, 0.6, 0.5, 0.4]
"""Best at epoch 2; with patience 2 the run stops after epoch 4, before the later gains."""


@pytest.mark.parametrize(
    ("column", "better", "curve", "stopping", "trained", "kept"),
    [
        ("val_nll", "lower", CURVE, {"patience": 2}, 4, 2),
        ("val_nll", "lower", CURVE, {"patience": 3}, 8, 8),
        ("val_nll", "lower", [1.0, 0.95, 0.9, 0.5], {"patience": 2, "min_delta": 0.1}, 3, 1),
        ("val_accuracy", "higher", [0.5, 0.7, 0.7, 0.6, 0.9], {"patience": 2}, 4, 2),
        ("val_nll", "lower", [float("nan"), 0.9, 0.95, 0.99, 0.1], {"patience": 2}, 4, 2),
    ],
    ids=["patience-2", "never-stops", "min-delta", "higher", "nan-never-improves"],
)
def test_stops_after_patience_epochs_without_improvement(
    column, better, curve, stopping, trained, kept, tmp_path, data_root, monkeypatch
):
    p = tiny_pipeline(
        training={
            "epochs": 8,
            "early_stopping": {"by": column, "better": better, **stopping},
        }
    )
    with scripted(monkeypatch, column, curve + [0.0] * 8) as calls:
        out = run(p, tmp_path, data_root, "run")
    assert len(calls) == trained
    log = pd.read_csv(out / "train_log.csv")
    assert list(log["epoch"]) == list(range(1, trained + 1))
    assert list(log["kept"]) == [int(e == kept) for e in log["epoch"]]
    assert list(log.columns)[-1] == "kept"
    assert kept_value(out / "train_log.csv", column) == curve[kept - 1]


def test_restores_the_best_epoch_exactly_as_a_run_of_that_many_epochs(
    tmp_path, data_root, monkeypatch
):
    """Bit-identical test outputs and weights: the best epoch's state, not an approximation."""
    with scripted(monkeypatch, "val_nll", CURVE):
        stopped = run(pipeline(8, patience=2), tmp_path, data_root, "stopped")
    short = run(pipeline(2), tmp_path, data_root, "short")
    assert_same_run(stopped, short)
    last = run(pipeline(4), tmp_path, data_root, "last")
    assert not np.array_equal(outputs(stopped)[0], outputs(last)[0]), "the best, not the last"


def test_without_restore_best_the_run_keeps_its_last_epoch(tmp_path, data_root, monkeypatch):
    with scripted(monkeypatch, "val_nll", CURVE):
        stopped = run(pipeline(8, patience=2, restore_best=False), tmp_path, data_root, "stopped")
    assert_same_run(stopped, run(pipeline(4), tmp_path, data_root, "last"))
    assert list(pd.read_csv(stopped / "train_log.csv")["kept"]) == [0, 0, 0, 1]


def test_without_early_stopping_the_log_has_no_kept_column(tmp_path, data_root):
    log = pd.read_csv(run(pipeline(2), tmp_path, data_root, "run") / "train_log.csv")
    assert "kept" not in log.columns


@pytest.mark.parametrize(
    "epoch",
    [1, 2, 3],
    ids=["before-the-best", "at-the-best", "one-epoch-without-improvement"],
)
def test_a_resumed_run_stops_and_restores_as_an_uninterrupted_one(
    epoch, tmp_path, data_root, monkeypatch
):
    """Killed in the (0-based) `epoch`, after the checkpoint of the one before: the best value,
    its epoch, the epochs since and the best weights all come back from the checkpoint."""
    p = pipeline(8, patience=2)
    with scripted(monkeypatch, "val_nll", CURVE):
        reference = run(p, tmp_path, data_root, "reference")
    with scripted(monkeypatch, "val_nll", CURVE) as calls:
        with interrupted_in_epoch(monkeypatch, Dense, epoch):
            run(p, tmp_path, data_root, "resumed")
        assert (tmp_path / "resumed" / CHECKPOINT).is_file()
        resumed = run(p, tmp_path, data_root, "resumed")
    assert len(calls) == 4, "no epoch trained twice, none more than the reference"
    assert_same_run(reference, resumed)
    logs = [pd.read_csv(d / "train_log.csv").drop(columns="seconds") for d in (reference, resumed)]
    pd.testing.assert_frame_equal(*logs)
    assert f'"epochs_resumed_from": {epoch}' in (resumed / "run.json").read_text()


def test_a_run_killed_after_it_stopped_restores_the_best_from_its_checkpoint(
    tmp_path, data_root, monkeypatch
):
    """Stopped, then killed while writing its outputs: the rerun trains nothing more and
    restores the best epoch from the checkpoint alone."""
    p = pipeline(8, patience=2)
    with scripted(monkeypatch, "val_nll", CURVE):
        reference = run(p, tmp_path, data_root, "reference")
    original = ClassificationRoutine.test_outputs

    def killed(self, *args, **kwargs):
        raise KeyboardInterrupt

    with scripted(monkeypatch, "val_nll", CURVE) as calls:
        monkeypatch.setattr(ClassificationRoutine, "test_outputs", killed)
        with pytest.raises(KeyboardInterrupt):
            run(p, tmp_path, data_root, "resumed")
        monkeypatch.setattr(ClassificationRoutine, "test_outputs", original)
        resumed = run(p, tmp_path, data_root, "resumed")
    assert len(calls) == 4
    assert '"epochs_resumed_from": 4' in (resumed / "run.json").read_text()
    assert_same_run(reference, resumed)
