"""`variance_net`: zero-mean layers (their output moments against sampled weights), the choice of
which layers carry variance only, and a run through the training loop."""

from __future__ import annotations

import csv

import pytest
import torch
from torch import nn

from methodlib.errors import RunError
from methodlib.methods import DataInfo
from methodlib.methods.ensembles.variance_net import VarianceNet, VarianceNetConfig
from methodlib.methods.layers.gaussian import VarianceConv2d, VarianceLinear
from tests.methods.ensembles.pitfalls_helpers import output_moments, smoke_run

INFO = DataInfo(input_shape=(1, 8, 8), n_classes=10, n_train=64)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [(VarianceLinear(5, 3), (1, 5)), (VarianceConv2d(2, 3, 3, padding=1), (1, 2, 4, 4))],
    ids=["linear", "conv"],
)
def test_variance_layer_is_zero_mean_with_the_weight_noise_variance(layer, shape):
    """Mean output = bias (the weights contribute zero in expectation), variance = x²·σ², both
    as over explicitly sampled zero-mean weights; and one pass is far from the mean."""
    torch.manual_seed(0)
    x = torch.randn(shape) * 2
    mean, var = output_moments(layer, x, 200_000)
    with torch.no_grad():
        bias = layer.bias.view(-1, *[1] * (len(shape) - 2)).expand_as(mean)
        sampled = torch.stack(
            [
                layer._op(x, layer.weight * torch.randn_like(layer.weight), layer.bias)[0]
                for _ in range(20_000)
            ]
        )
        exact_var = layer._op(x.square(), layer.weight.square(), None)[0]
    scale = exact_var.sqrt()
    assert ((mean - bias).abs() < 0.02 * scale + 1e-6).all()
    assert ((sampled.mean(0) - bias).abs() < 0.05 * scale + 1e-6).all()
    torch.testing.assert_close(var, exact_var, atol=1e-6, rtol=0.02)
    torch.testing.assert_close(sampled.var(0), exact_var, atol=1e-6, rtol=0.05)


def _kinds(model: nn.Module) -> list[str]:
    return [
        "var" if isinstance(m, VarianceLinear | VarianceConv2d) else "plain"
        for m in model.modules()
        if isinstance(m, nn.Linear | nn.Conv2d)
    ]


@pytest.mark.parametrize(
    ("model_name", "chosen", "kinds"),
    [
        ("lenet5", None, ["var", "plain", "plain", "plain"]),  # the default
        ("lenet5", "hidden", ["var", "var", "var", "plain"]),
        ("lenet5", "all", ["var"] * 4),
        ("lenet5", [0, -2], ["var", "plain", "var", "plain"]),
        ("lenet300_100", "hidden", ["var", "var", "plain"]),
        ("lenet300_100_bn", [2], ["plain", "plain", "var"]),
    ],
)
def test_variance_layers_go_where_asked(model_name, chosen, kinds):
    config = VarianceNetConfig() if chosen is None else VarianceNetConfig(variance_layers=chosen)
    method = VarianceNet(config, model_name, INFO)
    assert _kinds(method.build_model()) == kinds


def test_out_of_range_positions_are_an_error():
    with pytest.raises(RunError, match="4 weight layers"):
        VarianceNet(VarianceNetConfig(variance_layers=[4]), "lenet5", INFO).build_model()


def test_single_passes_vary_and_the_ensemble_averages_them():
    torch.manual_seed(0)
    method = VarianceNet(VarianceNetConfig(samples=8), "lenet300_100", INFO)
    model = method.build_model().eval()
    x = torch.randn(4, *INFO.input_shape)
    probs = method.predict_proba(model, x)
    assert probs.shape == (8, 4, 10)
    assert not torch.allclose(probs[0], probs[1])
    assert method.validation_proba(model, x).shape[0] == 5


@pytest.mark.parametrize("model_name", ["lenet300_100", "lenet5_bn"])
def test_end_to_end_on_tiny_digits(tmp_path, data_root, model_name):
    """Information in the variance alone is slow to learn: 3 epochs of 7 steps lower the
    training loss but do not yet classify, so that is what is checked."""
    _, probs, _ = smoke_run(
        tmp_path, data_root, method={"name": "variance_net", "samples": 5}, model=model_name
    )
    assert probs.shape[0] == 5 and not (probs[0] == probs[1]).all()
    with (tmp_path / "run" / "train_log.csv").open() as f:
        losses = [float(row["train_loss"]) for row in csv.DictReader(f)]
    assert losses[-1] < losses[0]
