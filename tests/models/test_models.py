"""Architectures and their size and cost against hand counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from methodlib.models import MODELS, Layers, build_model, model_task
from methodlib.models.stats import count_flops, count_params

SHAPES = [(1, 28, 28), (1, 8, 8), (3, 32, 32)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", [m for m in MODELS if model_task(m) == "classification"])
def test_output_is_one_logit_per_class(name: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    model = build_model(name, shape, n_classes=7)
    out = model(torch.randn(5, *shape))
    assert out.shape == (5, 7)
    assert torch.isfinite(out).all()


def test_lenet300_100_size_and_cost() -> None:
    model = build_model("lenet300_100", (1, 28, 28), 10)
    assert count_params(model) == 266_610
    assert count_flops(model, (1, 28, 28)) == 784 * 300 + 300 * 100 + 100 * 10


@pytest.mark.parametrize(
    ("shape", "expected_params", "expected_macs"),
    [
        (
            (1, 28, 28),
            (20 * 25 + 20) + (50 * 20 * 25 + 50) + (800 * 500 + 500) + (500 * 10 + 10),
            20 * 25 * 24 * 24 + 50 * 20 * 25 * 8 * 8 + 800 * 500 + 500 * 10,
        ),
        (  # padded convolutions keep 8×8 and 4×4 maps
            (1, 8, 8),
            (20 * 25 + 20) + (50 * 20 * 25 + 50) + (200 * 500 + 500) + (500 * 10 + 10),
            20 * 25 * 8 * 8 + 50 * 20 * 25 * 4 * 4 + 200 * 500 + 500 * 10,
        ),
        (
            (3, 32, 32),
            (20 * 75 + 20) + (50 * 20 * 25 + 50) + (1250 * 500 + 500) + (500 * 10 + 10),
            20 * 75 * 28 * 28 + 50 * 20 * 25 * 10 * 10 + 1250 * 500 + 500 * 10,
        ),
    ],
    ids=["28x28", "8x8", "3x32x32"],
)
def test_lenet5_size_and_cost(
    shape: tuple[int, ...], expected_params: int, expected_macs: int
) -> None:
    model = build_model("lenet5", shape, 10)
    assert count_params(model) == expected_params
    assert count_flops(model, shape) == expected_macs


def test_frozen_parameters_are_not_counted() -> None:
    model = build_model("lenet300_100", (1, 8, 8), 10)
    assert count_params(model) == (64 * 300 + 300) + (300 * 100 + 100) + (100 * 10 + 10)
    model.net[1].weight.requires_grad_(False)
    assert count_params(model) == 300 + (300 * 100 + 100) + (100 * 10 + 10)


def test_count_flops_keeps_the_training_mode() -> None:
    model = build_model("lenet5", (1, 8, 8), 10)
    count_flops(model.train(), (1, 8, 8))
    assert model.training
    count_flops(model.eval(), (1, 8, 8))
    assert not model.training


class HalfSparseLinear(nn.Module):
    """A custom layer that reports its own cost: half of its weights are pruned."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.T

    def macs(self, inp: torch.Tensor, out: torch.Tensor) -> int:
        return self.weight.numel() // 2


class UnitPrunedLinear(nn.Module):
    """A custom layer that calls a plain layer and drops output units: its `macs()` is the
    whole cost, the wrapped layer's included."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.inner = nn.Linear(n_in, n_out)
        self.register_buffer("keep", torch.arange(n_out) % 4 == 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x) * self.keep

    def macs(self, inp: torch.Tensor, out: torch.Tensor) -> int:
        return self.inner.in_features * int(self.keep.sum())


class CustomLayers(Layers):
    def __init__(self, layer: type[nn.Module]):
        self.layer = layer

    def linear(self, n_in: int, n_out: int) -> nn.Module:
        return self.layer(n_in, n_out)


def test_custom_layer_is_counted_through_its_macs() -> None:
    model = build_model("lenet300_100", (1, 8, 8), 10, CustomLayers(HalfSparseLinear))
    assert count_flops(model, (1, 8, 8)) == (64 * 300 + 300 * 100 + 100 * 10) // 2


def test_custom_layer_wrapping_a_plain_layer_is_counted_once() -> None:
    model = build_model("lenet5", (1, 8, 8), 10, CustomLayers(UnitPrunedLinear))
    convs = 20 * 25 * 8 * 8 + 50 * 20 * 25 * 4 * 4
    assert count_flops(model, (1, 8, 8)) == convs + 200 * 125 + 500 * 3  # 125 of 500, 3 of 10


def test_grouped_convolution_cost() -> None:
    conv = nn.Conv2d(4, 8, 3, padding=1, groups=2)
    assert count_flops(conv, (4, 6, 6)) == (4 // 2) * 3 * 3 * 8 * 6 * 6


def test_a_layer_used_twice_costs_twice() -> None:
    layer = nn.Linear(4, 4)
    assert count_flops(nn.Sequential(layer, nn.ReLU(), layer), (4,)) == 2 * 4 * 4
