"""The `perforated_cnn` method: when it perforates, what it measures, and its errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from methodlib.methods import METHODS, DataInfo, EpochContext
from methodlib.methods.perforation.layer import perforated_convs
from methodlib.methods.perforation.perforated_cnn import layer_speedups

INFO = DataInfo(input_shape=(1, 12, 12), n_classes=10, n_train=64)


def make(model: str = "lenet5", **config):
    cls = METHODS["perforated_cnn"]
    method = cls(cls.Config(**config), model, INFO)
    torch.manual_seed(0)
    return method, method.build_model()


def context(epoch: int, epochs: int = 3) -> EpochContext:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 1, 12, 12, generator=g), torch.randint(0, 10, (64,), generator=g)
    return EpochContext(epoch, epochs, x, y, x[:32], y[:32], batch_size=16)


@pytest.mark.parametrize("mask", ["uniform", "grid", "pooling", "impact"])
def test_perforates_after_the_dense_epochs_and_measures_the_loss_change(mask):
    method, model = make(mask=mask, dense_epochs=2, sweep_rates=[0.25, 0.75])
    method.on_epoch_end(model, context(0))
    assert not any(conv.perforated for conv in perforated_convs(model))
    ctx = context(1)
    with torch.no_grad():
        dense_loss = F.cross_entropy(model.eval()(ctx.x_val), ctx.y_val).item()
    method.on_epoch_end(model, ctx)
    assert all(conv.perforated for conv in perforated_convs(model))
    with torch.no_grad():
        perforated_loss = F.cross_entropy(model.eval()(ctx.x_val), ctx.y_val).item()
    metrics = method.perforation
    assert metrics["dense_val_loss"] == pytest.approx(dense_loss, rel=1e-5)
    assert metrics["perforation_loss_increase"] == pytest.approx(
        perforated_loss - dense_loss, abs=1e-5
    )
    assert set(metrics) >= {"loss_increase_at_rate_25", "loss_increase_at_rate_75"}
    assert abs(metrics["perforation_rate"] - 0.5) < 0.1


def test_rates_per_layer_and_their_count():
    method, model = make(mask="uniform", rates=[0.25, 0.75])
    method.on_epoch_end(model, context(0))
    first, second = perforated_convs(model)
    assert 1 - len(first.kept) / len(first.nearest) == pytest.approx(0.25, abs=0.005)
    assert 1 - len(second.kept) / len(second.nearest) == pytest.approx(0.75, abs=0.005)
    method, model = make(rates=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="one per layer"):
        method.on_epoch_end(model, context(0))


def test_more_dense_epochs_than_epochs_is_an_error():
    method, model = make(dense_epochs=5)
    with pytest.raises(ValueError, match="dense_epochs"):
        method.on_epoch_end(model, context(0, epochs=3))


def test_network_without_convolutions_is_left_alone():
    method, model = make("lenet300_100")
    method.on_epoch_end(model, context(0))
    assert method.run_metrics(model)["perforation_loss_increase"] == 0.0


def test_speedups_are_measured_for_perforated_layers():
    method, model = make(mask="grid")
    method.on_epoch_end(model, context(0))
    im2col, torch_conv = layer_speedups(perforated_convs(model), batch=4, rounds=1)
    assert im2col > 0 and torch_conv > 0
