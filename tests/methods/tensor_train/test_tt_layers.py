"""The TT-matrix layer against its dense reconstruction, its parameter count and its T3F
initialisation; the `tt_layers` method's layer swap and metrics."""

import math

import pytest
import torch

from methodlib.errors import RunError
from methodlib.methods import METHODS, DataInfo
from methodlib.methods.tensor_train.configs import TTLayersConfig
from methodlib.methods.tensor_train.layer import TTLinear, factorise, tt_params
from methodlib.models.stats import count_flops

MNIST = DataInfo(input_shape=(1, 28, 28), n_classes=10, n_train=100)


def test_forward_is_the_input_times_the_dense_reconstruction():
    torch.manual_seed(0)
    layer = TTLinear([4, 7, 4, 7], [3, 4, 5, 5], [2, 5, 3]).double()
    torch.nn.init.normal_(layer.bias)
    x = torch.randn(6, 784, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ layer.full() + layer.bias, rtol=1e-12, atol=1e-12)


def test_dense_reconstruction_is_the_product_of_core_slices():
    """W[(i1, i2), (j1, j2)] = G1[0, i1, j1, :] · G2[:, i2, j2, 0], row-major multi-indices."""
    torch.manual_seed(1)
    layer = TTLinear([2, 3], [4, 5], [3]).double()
    g1, g2 = layer.cores
    w = layer.full()
    for i1, i2, j1, j2 in [(0, 0, 0, 0), (1, 2, 3, 4), (1, 0, 2, 1), (0, 2, 1, 3)]:
        expected = g1[0, i1, j1, :] @ g2[:, i2, j2, 0]
        torch.testing.assert_close(w[i1 * 3 + i2, j1 * 5 + j2], expected)


def test_parameter_count_formula():
    layer = TTLinear([4, 7, 4, 7], [3, 4, 5, 5], [8, 8, 8])
    cores = sum(c.numel() for c in layer.cores)
    assert cores == tt_params([4, 7, 4, 7], [3, 4, 5, 5], [1, 8, 8, 8, 1])
    assert cores == 12 * 8 + 28 * 64 + 20 * 64 + 35 * 8 == 3448  # 47 r + 48 r² at r = 8
    assert cores + 300 == sum(p.numel() for p in layer.parameters())
    # the T3F tutorial's layer: 784 = 7·4·7·4 → 625 = 5⁴ at rank 4, 1,725 parameters with bias
    assert tt_params([7, 4, 7, 4], [5, 5, 5, 5], [1, 4, 4, 4, 1]) + 625 == 1725


def test_initial_entries_have_the_glorot_variance():
    """Var W = 2 / (M + N) for every entry; averaged over all entries of 20 draws (Monte Carlo:
    the relative standard error of the mean square is a few per cent)."""
    torch.manual_seed(2)
    squares = [
        TTLinear([4, 7, 4, 7], [3, 4, 5, 5], [8, 8, 8]).full().pow(2).mean() for _ in range(20)
    ]
    assert torch.stack(squares).mean().item() == pytest.approx(2 / (784 + 300), rel=0.1)
    layer = TTLinear([4, 7, 4, 7], [3, 4, 5, 5], [8, 8, 8])
    expected_std = (2 / 1084) ** (1 / 8) * 512 ** (-1 / 8)
    assert layer.core_std() == pytest.approx(expected_std)


def test_macs_count_every_contraction():
    layer = TTLinear([2, 3], [4, 5], [3])
    # core 1: 1·2·4·3 per remaining input (3); core 2: 4 outputs done · 3·3·5·1
    assert layer.macs(None, None) == 2 * 4 * 3 * 3 + 4 * 3 * 3 * 5
    assert count_flops(torch.nn.Sequential(layer), (6,)) == layer.macs(None, None)


def test_factorise_gives_near_equal_factors():
    assert factorise(784, 4) == [7, 7, 4, 4]
    assert factorise(300, 4) == [5, 5, 4, 3]
    assert factorise(7, 2) == [7, 1]
    for n, d in [(64, 4), (500, 3), (800, 4)]:
        assert math.prod(factorise(n, d)) == n


def test_method_swaps_the_first_linear_layer_of_lenet300():
    config = TTLayersConfig(tt_rank=8, input_modes=[4, 7, 4, 7], output_modes=[3, 4, 5, 5])
    method = METHODS["tt_layers"](config, "lenet300_100", MNIST)
    model = method.build_model()
    tt = [m for m in model.modules() if isinstance(m, TTLinear)]
    assert len(tt) == 1 and (tt[0].in_features, tt[0].out_features) == (784, 300)
    assert sum(isinstance(m, torch.nn.Linear) for m in model.modules()) == 2
    metrics = method.run_metrics(model)
    assert metrics["tt_layer_params"] == 3448 + 300
    assert metrics["dense_layer_params"] == 784 * 300 + 300
    assert metrics["tt_layer_compression"] >= 50


def test_modes_that_do_not_fit_the_layer_are_refused():
    config = TTLayersConfig(input_modes=[4, 7, 4, 8], output_modes=[3, 4, 5, 5])
    with pytest.raises(RunError, match="input_modes"):
        METHODS["tt_layers"](config, "lenet300_100", MNIST).build_model()


def test_config_refuses_orders_that_differ():
    with pytest.raises(ValueError, match="orders differ"):
        TTLayersConfig(input_modes=[28, 28], output_modes=[3, 4, 5, 5])
    with pytest.raises(ValueError, match="orders differ"):
        TTLayersConfig(tt_rank=[2, 2], output_modes=[3, 4, 5, 5])
    assert TTLayersConfig(tt_rank=[2, 2]).d() == 3
