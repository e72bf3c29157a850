"""`vd_ard`: the closed-form KL at the optimal ARD prior variance, and its wiring."""

from __future__ import annotations

import torch

from methodlib.methods import METHODS, DataInfo
from methodlib.methods.pruning.variational import kl_ard, named_weight_layers


def test_ard_kl_is_the_kl_at_the_optimal_prior_variance():
    theta = torch.tensor([0.3, -1.2, 0.01, 2.0], dtype=torch.float64)
    sigma2 = torch.tensor([0.01, 0.5, 1e-4, 8.0], dtype=torch.float64)

    def kl_gauss(tau2):  # KL(N(θ, σ²) ‖ N(0, τ²)), evaluated directly
        return 0.5 * (torch.log(tau2 / sigma2) + (sigma2 + theta**2) / tau2 - 1)

    optimum = theta**2 + sigma2
    closed_form = kl_ard(torch.log(sigma2 / theta**2))
    torch.testing.assert_close(closed_form, kl_gauss(optimum))
    for factor in (0.5, 0.9, 1.1, 2.0):  # the optimum is a minimum over τ²
        assert (kl_gauss(optimum * factor) > closed_form).all()


def test_method_uses_the_ard_kl_on_sparse_vd_layers():
    cls = METHODS["vd_ard"]
    method = cls(cls.Config(), "lenet300_100", DataInfo((1, 6, 6), 10, 9))
    assert cls.Config().name == "vd_ard" and cls.Config().threshold == 3.0
    model = method.build_model()
    layers = named_weight_layers(model).values()
    torch.testing.assert_close(
        method.kl(model), sum(kl_ard(layer.log_alpha).sum() for layer in layers)
    )
