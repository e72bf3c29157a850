"""`sparse_vd`: its KL approximation against a Monte Carlo estimate, its variational layers
(masks, local reparameterisation, clipping), and its wiring into the method."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from methodlib.methods import METHODS, DataInfo
from methodlib.methods.pruning.variational import (
    VariationalConv2d,
    VariationalLinear,
    kl_sparse_vd,
    named_weight_layers,
)
from methodlib.spec import validate_pipeline


def test_sparse_vd_kl_matches_monte_carlo_up_to_a_constant():
    """−KL(N(θ, αθ²) ‖ log-uniform) = ½·log α − E_{ε~N(1, α)} log|ε| + C (Molchanov et al. eq. 7):
    the approximation must follow a Monte Carlo estimate of it over log α ∈ [−6, 6]."""
    rng = np.random.default_rng(0)
    eps = rng.standard_normal(2_000_000)
    log_alphas = np.linspace(-6, 6, 25)
    monte_carlo = np.array(
        [-0.5 * la + np.log(np.abs(1 + math.exp(la / 2) * eps)).mean() for la in log_alphas]
    )
    approx = kl_sparse_vd(torch.tensor(log_alphas)).numpy()
    offset = monte_carlo - approx
    assert offset.max() - offset.min() < 0.02, offset


def test_sparse_vd_kl_vanishes_for_large_alpha_and_decreases():
    log_alpha = torch.linspace(-8, 8, 100)
    kl = kl_sparse_vd(log_alpha)
    assert (kl.diff() < 0).all()
    assert kl_sparse_vd(torch.tensor(30.0)).abs() < 1e-5


def _set_log_alpha(layer, log_alpha: torch.Tensor) -> None:
    with torch.no_grad():
        layer.log_sigma2.copy_(log_alpha + torch.log(layer.weight.square()))


@pytest.mark.parametrize(
    "layer",
    [VariationalLinear(6, 4, -10.0, 3.0), VariationalConv2d(2, 3, 3, 1, -10.0, 3.0)],
    ids=["linear", "conv"],
)
def test_variational_layer_masks_weights_with_large_log_alpha(layer):
    torch.manual_seed(0)
    log_alpha = torch.empty_like(layer.weight).uniform_(-6, 7)
    _set_log_alpha(layer, log_alpha)
    pruned = layer.pruned_weight()
    keep = layer.log_alpha < 3.0
    assert torch.equal(pruned[keep], layer.weight[keep])
    assert (pruned[~keep] == 0).all() and keep.any() and (~keep).any()
    layer.eval()
    x = torch.randn(5, 6) if isinstance(layer, VariationalLinear) else torch.randn(5, 2, 6, 6)
    plain = layer._op(x, pruned, layer.bias)
    torch.testing.assert_close(layer(x), plain)


def test_local_reparameterisation_has_the_weight_noise_moments():
    torch.manual_seed(0)
    layer = VariationalLinear(3, 2, -10.0, 3.0)
    _set_log_alpha(layer, torch.full_like(layer.weight, -1.0))
    x = torch.randn(1, 3).expand(200_000, 3)
    with torch.no_grad():
        out = layer(x)
    var = (x[:1].square() @ (math.exp(-1.0) * layer.weight.square()).T).squeeze(0)
    torch.testing.assert_close(
        out.mean(0), layer._op(x[:1], layer.weight, layer.bias)[0], atol=0.01, rtol=0.01
    )
    torch.testing.assert_close(out.var(0), var, atol=1e-3, rtol=0.03)


def test_log_alpha_is_clipped():
    layer = VariationalLinear(3, 2, -10.0, 3.0)
    _set_log_alpha(layer, torch.tensor([[-20.0, 0.0, 20.0], [9.0, -9.0, 1.0]]))
    assert layer.log_alpha.min() == -8.0 and layer.log_alpha.max() == 8.0


def test_method_kl_sums_the_approximation_over_every_weight():
    method = METHODS["sparse_vd"](
        METHODS["sparse_vd"].Config(), "lenet5", DataInfo((1, 8, 8), 10, 9)
    )
    model = method.build_model()
    layers = named_weight_layers(model)
    assert list(layers) == ["conv1", "conv2", "fc1", "fc2"]
    expected = sum(kl_sparse_vd(layer.log_alpha).sum() for layer in layers.values())
    torch.testing.assert_close(method.kl(model), expected)
    stats = method.unit_statistics(model)
    assert stats["fc1"][0].numel() == layers["fc1"].weight.numel() and stats["fc1"][1:] == (
        3.0,
        "log α",
    )


def test_config_in_a_pipeline_file():
    raw = {
        "datasets": {"d": {"source": "digits"}},
        "experiments": {
            "svd": {
                "dataset": "d",
                "model": "lenet5",
                "method": {"name": "sparse_vd", "kl_warmup": 0.5},
            }
        },
    }
    method = validate_pipeline(raw).experiments["svd"].method
    assert (method.threshold, method.kl_weight, method.kl_warmup) == (3.0, 1.0, 0.5)
    raw["experiments"]["svd"]["method"]["kl_warmup"] = 1.5
    with pytest.raises(Exception, match="kl_warmup"):
        validate_pipeline(raw)
