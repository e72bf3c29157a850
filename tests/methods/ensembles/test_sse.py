"""`sse`: the learning rate traces cosine cycles that restart at the base rate, one snapshot is
taken at the end of each cycle, and predictions stack the snapshots in order."""

from __future__ import annotations

import math

import pytest
import torch

from methodlib.methods.base import StepContext
from methodlib.methods.ensembles.sse import SSE, SSEConfig
from methodlib.methods.ensembles.weight_averaging import proba_with
from tests.conftest import tiny_pipeline
from tests.methods.ensembles.ensembling_helpers import (
    INFO,
    assert_resume_is_identical,
    context,
    data,
    jiggle,
    probs,
    reloaded,
)


def trace(method, epochs: int, steps: int = 10) -> list[tuple[StepContext, float]]:
    contexts = [StepContext(e, s, steps, epochs, 640) for e in range(epochs) for s in range(steps)]
    return [(ctx, method.lr_factor(ctx)) for ctx in contexts]


def test_learning_rate_follows_cosine_cycles_restarting_at_the_base_rate():
    method = SSE(SSEConfig(cycles=4), "lenet300_100", INFO)
    points = trace(method, epochs=8)
    for ctx, factor in points:
        t = (ctx.progress * 4) % 1
        assert factor == pytest.approx(0.5 * (1 + math.cos(math.pi * t)))
    factors = [f for _, f in points]
    assert [i for i, f in enumerate(factors) if f == 1.0] == [0, 20, 40, 60]
    assert min(factors) == pytest.approx(0.5 * (1 + math.cos(math.pi * 19 / 20)))


def test_cycles_are_whole_epochs_when_epochs_do_not_divide():
    assert SSE(SSEConfig(cycles=4), "lenet5", INFO).cycle_starts(10) == [0, 3, 5, 8]
    assert SSE(SSEConfig(cycles=4), "lenet5", INFO).cycle_starts(2) == [0, 1]


def test_one_snapshot_per_cycle_stacked_in_order():
    torch.manual_seed(0)
    method = SSE(SSEConfig(cycles=3), "lenet300_100_bn", INFO)
    model = method.build_model()
    x = data(2, n=8)[0]
    model.eval()
    torch.testing.assert_close(
        method.predict_proba(model, x), torch.softmax(model(x), -1).unsqueeze(0)
    )
    expected = []
    for epoch in range(7):  # cycles of 3, 2, 2 epochs
        jiggle(model, epoch)
        method.on_epoch_end(model, context(epoch, 7))
        if epoch in (2, 4, 6):
            expected.append(proba_with(model.eval(), model.state_dict(), x))
        assert method.epoch_metrics(model) == {"snapshots": len(expected)}
    model.eval()
    jiggle(model, 99)
    torch.testing.assert_close(method.predict_proba(model, x), torch.stack(expected))
    torch.testing.assert_close(reloaded(method).predict_proba(model, x), torch.stack(expected))


def test_end_to_end_run_resumes_with_its_snapshots(tmp_path, data_root, monkeypatch):
    pipeline = tiny_pipeline(
        model="lenet5", method={"name": "sse", "cycles": 2}, training={"epochs": 4}
    )
    reference = assert_resume_is_identical(pipeline, tmp_path, data_root, monkeypatch)
    p = probs(reference)
    assert p.shape[0] == 2 and not (p[0] == p[1]).all()
    lrs = [float(r.split(",")[4]) for r in (reference / "train_log.csv").read_text().split()[1:]]
    assert lrs[0] == lrs[2] and lrs[1] == lrs[3] and lrs[1] < 0.1 * lrs[0]
