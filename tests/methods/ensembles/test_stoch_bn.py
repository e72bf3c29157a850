"""Stochastic batch norm: the collected statistics are the mini-batches' own, predictions draw
from them and differ between draws, and the network's batch norm is left as it was."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from methodlib.errors import RunError, SpecError
from methodlib.methods import DataInfo, EpochContext
from methodlib.methods.ensembles.stoch_bn import (
    StochBN,
    StochBNConfig,
    batch_norms,
    batch_statistics,
)
from methodlib.train import train_run
from tests.conftest import tiny_pipeline

INFO = DataInfo(input_shape=(1, 8, 8), n_classes=10, n_train=16)


def data(seed: int = 0, n: int = 16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *INFO.input_shape, generator=g), torch.randint(0, 10, (n,), generator=g)


def trained(model_name: str = "lenet300_100_bn", **config):
    """A model whose running averages are not the batch statistics (a few training steps)."""
    torch.manual_seed(0)
    method = StochBN(StochBNConfig(**config), model_name, INFO)
    model = method.build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = data()
    for _ in range(3):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    method.on_epoch_end(model, EpochContext(0, 1, x, y, x, y, batch_size=8))
    return method, model.eval()


def bn_state(model) -> list[torch.Tensor]:
    return [
        t.clone()
        for bn in batch_norms(model)
        for t in (bn.running_mean, bn.running_var, bn.num_batches_tracked)
    ]


def assert_unchanged(model, before: list[torch.Tensor]) -> None:
    for now, then in zip(bn_state(model), before, strict=True):
        assert torch.equal(now, then)
    assert all(bn.track_running_stats for bn in batch_norms(model))


def test_collected_statistics_are_the_hand_computed_batch_moments():
    _, model = trained()
    fc1, bn1, _, _, fc2, bn2 = list(model.net)[1:7]
    x = data(1)[0]
    before = bn_state(model)
    torch.manual_seed(3)
    stats = batch_statistics(model, x, batch_size=8, batches=2)
    assert_unchanged(model, before)
    assert not any(m.training for m in model.modules())
    torch.manual_seed(3)
    order = torch.randperm(16)
    for i, idx in enumerate((order[:8], order[8:])):
        with torch.no_grad():
            h1 = fc1(x[idx].flatten(1))
            mean1, var1 = h1.mean(0), h1.var(0, unbiased=False)
            z = (h1 - mean1) / (var1 + bn1.eps).sqrt() * bn1.weight + bn1.bias
            h2 = fc2(z.relu())
        torch.testing.assert_close(stats[0][0][i], mean1)
        torch.testing.assert_close(stats[0][1][i], var1)
        torch.testing.assert_close(stats[1][0][i], h2.mean(0))
        torch.testing.assert_close(stats[1][1][i], h2.var(0, unbiased=False))


def test_convolutional_statistics_average_over_batch_and_positions():
    method, model = trained("lenet5_bn", stat_batches=4)
    assert [m.shape for m in method.means] == [(4, 20), (4, 50), (4, 500)]
    torch.manual_seed(0)
    x = data()[0]
    stats = batch_statistics(model, x, batch_size=16, batches=1)  # the whole set, any order
    with torch.no_grad():
        h = model.features[0](x)
    torch.testing.assert_close(stats[0][0][0], h.mean((0, 2, 3)))
    torch.testing.assert_close(stats[0][1][0], h.var((0, 2, 3), unbiased=False))


def test_samples_differ_while_running_prediction_is_deterministic_and_bn_is_restored():
    method, model = trained(samples=6)
    x = data(2)[0]
    before = bn_state(model)
    probs = method.predict_proba(model, x)
    assert probs.shape == (6, 16, 10)
    assert not torch.allclose(probs[0], probs[1])
    torch.testing.assert_close(probs.sum(-1), torch.ones(6, 16))
    assert_unchanged(model, before)
    assert not any(m.training for m in model.modules())
    with torch.no_grad():
        plain = F.softmax(model(x), dim=-1)
    torch.testing.assert_close(method.validation_proba(model, x)[0], plain)
    torch.testing.assert_close(method.validation_proba(model, x)[0], plain)
    model.train()
    method.predict_proba(model, x)
    assert all(m.training for m in model.modules()), "modes restored, not forced to eval"


def test_fitted_draws_follow_a_gaussian_mean_and_log_normal_variance():
    method, _ = trained(stat_batches=50)
    torch.manual_seed(0)
    draws = [method.draw() for _ in range(4000)]
    means = torch.stack([d[0][0] for d in draws])
    log_vars = torch.stack([d[0][1].log() for d in draws])
    target = method.means[0]
    target_log = method.variances[0].log()
    torch.testing.assert_close(
        means.mean(0), target.mean(0), atol=0.1 * target.std(0).max(), rtol=0
    )
    torch.testing.assert_close(means.std(0), target.std(0), rtol=0.1, atol=1e-6)
    torch.testing.assert_close(log_vars.mean(0), target_log.mean(0), atol=0.1, rtol=0)
    torch.testing.assert_close(log_vars.std(0), target_log.std(0), rtol=0.1, atol=1e-6)


def test_empirical_draws_take_one_collected_batch_for_every_layer():
    method, _ = trained(distribution="empirical", stat_batches=5)
    for _ in range(10):
        (m1, v1), (m2, v2) = method.draw()
        i = next(i for i in range(5) if torch.equal(method.means[0][i], m1))
        assert torch.equal(method.variances[0][i], v1)
        assert torch.equal(method.means[1][i], m2) and torch.equal(method.variances[1][i], v2)


def test_reloaded_method_predicts_identically():
    method, model = trained()
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "method": method.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    fresh_method = StochBN(StochBNConfig(), "lenet300_100_bn", INFO)
    fresh = fresh_method.build_model().eval()
    fresh.load_state_dict(state["model"])
    fresh_method.load_state_dict(state["method"])
    x = data(4)[0]
    torch.manual_seed(9)
    expected = method.predict_proba(model, x)
    torch.manual_seed(9)
    torch.testing.assert_close(fresh_method.predict_proba(fresh, x), expected, rtol=0, atol=0)


def test_without_collected_statistics_or_batch_norm():
    method = StochBN(StochBNConfig(), "lenet300_100_bn", INFO)
    with pytest.raises(RunError, match="no batch statistics"):
        method.predict_proba(method.build_model().eval(), data()[0])
    plain = StochBN(StochBNConfig(), "lenet300_100", INFO)
    with pytest.raises(RunError, match="no batch norm; use 'lenet300_100_bn'"):
        plain.build_model()


def test_the_pipeline_file_refuses_a_model_without_batch_norm():
    with pytest.raises(
        SpecError, match=r"experiments.exp: .*needs batch norm; use model 'lenet5_bn'"
    ):
        tiny_pipeline(model="lenet5", method={"name": "stoch_bn"})


def test_train_run_end_to_end(tmp_path, data_root):
    method = {"name": "stoch_bn", "samples": 5, "stat_batches": 10}
    pipeline = tiny_pipeline(model="lenet300_100_bn", method=method)
    train_run(pipeline, "exp", 0, tmp_path / "run", data_dir=data_root / "digits", progress=False)
    with np.load(tmp_path / "run" / "predictions.npz") as out:
        probs, labels = out["probs"], out["labels"]
    assert probs.shape[0] == 5 and probs.shape[2] == 10
    assert not np.allclose(probs[0], probs[1])
    assert (probs.mean(0).argmax(1) == labels).mean() > 0.5
    state = torch.load(tmp_path / "run" / "model.pt", weights_only=True)["method"]
    assert [m.shape for m in state["means"]] == [(10, 300), (10, 100)]
