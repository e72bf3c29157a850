"""IWHVI's optional maximum-likelihood fit of τ (`tau_fit`): it adds −log τ(ψ_0 | x, z) of the
encoder's own draws to the loss and moves τ alone."""

from __future__ import annotations

import torch

from methodlib.methods.base import DataInfo
from methodlib.methods.latent_vi.configs import IWHVIConfig
from methodlib.methods.latent_vi.iwhvi import IWHVI

INFO = DataInfo(input_shape=(1, 2, 2), n_classes=2, n_train=8)
X = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]]).view(2, 1, 2, 2)


def test_tau_fit_adds_a_term_whose_gradient_reaches_tau_alone():
    config = IWHVIConfig(latent_dim=2, hidden=8, noise_dim=2, tau_fit=1.0)
    torch.manual_seed(0)
    method = IWHVI(config, "vae_mlp", INFO)
    model = method.build_model().double()
    x = X.double()
    torch.manual_seed(4)
    with_fit = method.losses(model, x)
    method.config = config.model_copy(update={"tau_fit": 0.0})
    torch.manual_seed(4)
    without = method.losses(model, x)
    extra = (with_fit - without).sum()
    assert extra.abs() > 0
    extra.backward()
    for name, parameter in model.named_parameters():
        moved = parameter.grad is not None and parameter.grad.abs().max() > 1e-9
        assert moved == name.startswith("reverse."), name
