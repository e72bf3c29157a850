"""`fge`: the triangular learning rate between lr_low and lr_high, a snapshot at each cycle's
low end, and a run that starts from a trained dense network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from methodlib.methods.ensembles.fge import FGE, FGEConfig
from tests.conftest import tiny_pipeline
from tests.methods.ensembles.ensembling_helpers import INFO, context, jiggle, probs, reloaded, run
from tests.methods.ensembles.test_sse import trace


def test_learning_rate_is_a_triangle_from_low_to_high_and_back():
    method = FGE(FGEConfig(cycle_epochs=2, lr_low=0.1, lr_high=0.9), "lenet5", INFO)
    factors = [f for _, f in trace(method, epochs=6, steps=10)]
    one_cycle = [0.1 + 0.8 * (1 - abs(i / 10 - 1)) for i in range(20)]
    assert factors == pytest.approx(one_cycle * 3)
    assert factors[10] == pytest.approx(0.9) and factors[20] == pytest.approx(0.1)


def test_snapshots_at_cycle_ends_and_a_short_last_cycle():
    torch.manual_seed(0)
    method = FGE(FGEConfig(cycle_epochs=2), "lenet300_100", INFO)
    assert method.cycle_starts(7) == [0, 2, 4, 6]
    model = method.build_model()
    taken = []
    for epoch in range(7):
        jiggle(model, epoch)
        method.on_epoch_end(model, context(epoch, 7))
        taken.append(len(method.snapshots))
    assert taken == [0, 1, 1, 2, 2, 3, 4]
    assert torch.equal(method.snapshots[-1]["net.1.weight"], model.net[1].weight)
    assert len(reloaded(method).snapshots) == 4


def test_lr_low_must_not_exceed_lr_high():
    with pytest.raises(ValidationError, match="lr_low"):
        FGEConfig(lr_low=1.0, lr_high=0.5)


def test_end_to_end_from_a_dense_run(tmp_path, data_root):
    fge = {
        "dataset": "digits",
        "model": "lenet5",
        "method": {"name": "fge", "cycle_epochs": 1},
        "init_from": "exp",
        "training": {"epochs": 3},
    }
    scratch = {**fge, "init_from": None}
    pipeline = tiny_pipeline(
        model="lenet5", training={"epochs": 5}, others={"fge": fge, "scratch": scratch}
    )
    dense = run(pipeline, tmp_path, data_root, "exp/seed0")
    with np.load(dense / "predictions.npz") as npz:
        labels = npz["labels"]

    def accuracy(name: str) -> float:
        init_dir = dense if name == "fge" else None
        p = probs(run(pipeline, tmp_path, data_root, name, experiment=name, init_dir=init_dir))
        assert p.shape[0] == 3
        return (p.mean(0).argmax(1) == labels).mean()

    assert accuracy("fge") > accuracy("scratch") + 0.1, "the snapshots start from the dense run"
