"""The Dirichlet VAE (`dirichlet_vae`): its closed-form KL against Monte Carlo, and the
score-function gradient of the expected log-likelihood against the implicit one (both unbiased
estimators of the same gradient, so their means over many draws agree)."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Dirichlet

from methodlib.methods.base import DataInfo
from methodlib.methods.gradients.dirichlet_vae import (
    DirichletVAE,
    dirichlet_kl,
    dirichlet_log_density,
)
from methodlib.methods.gradients.vae_configs import DirichletVAEConfig

INFO = DataInfo(input_shape=(1, 2, 2), n_classes=2, n_train=8)


def test_closed_form_kl_matches_monte_carlo():
    gen = torch.Generator().manual_seed(0)
    alpha = torch.tensor([[0.3, 2.0, 5.0], [1.5, 0.7, 0.9]], dtype=torch.float64)
    beta = torch.tensor([0.3, 0.3, 0.3], dtype=torch.float64)
    torch.manual_seed(int(torch.randint(0, 1000, (1,), generator=gen)))
    z = Dirichlet(alpha).sample((400_000,))
    log_ratio = Dirichlet(alpha).log_prob(z) - Dirichlet(beta).log_prob(z)
    mc, se = log_ratio.mean(0), log_ratio.std(0) / 400_000**0.5
    exact = dirichlet_kl(alpha, beta)
    assert torch.all((mc - exact).abs() < 5 * se), (mc, exact, se)
    assert torch.allclose(
        exact, torch.distributions.kl_divergence(Dirichlet(alpha), Dirichlet(beta))
    )


def test_log_density_matches_torch():
    alpha = torch.tensor([0.5, 1.0, 3.0])
    z = Dirichlet(alpha).sample((10,))
    assert torch.allclose(dirichlet_log_density(z, alpha), Dirichlet(alpha).log_prob(z))


def _alpha_gradients(gradient: str, draws: int) -> torch.Tensor:
    """Per-draw gradients w.r.t. α of the one-draw estimate of E_q log p(x | z), for a fixed
    tiny decoder and image: α is a leaf of `draws` equal rows and row i's estimate depends on
    row i alone, so the gradient of the sum holds each draw's gradient."""
    config = DirichletVAEConfig(gradient=gradient, latent_dim=3, hidden=4)
    method = DirichletVAE(config, "vae_mlp", INFO)
    torch.manual_seed(0)
    model = method.build_model().double().eval()
    method.baseline = -2.5  # a constant baseline: the estimator stays unbiased
    x = torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]], dtype=torch.float64).expand(draws, -1, -1, -1)
    alpha = torch.tensor([0.4, 1.3, 2.5], dtype=torch.float64).repeat(draws, 1).requires_grad_()
    torch.manual_seed(1)
    value = method.expected_log_likelihood(model, x, alpha)
    return torch.autograd.grad(value.sum(), alpha)[0]


@pytest.mark.parametrize("reference", ["implicit", "torch"])
def test_score_function_gradient_is_unbiased(reference):
    draws = 200_000
    score = _alpha_gradients("score_function", draws)
    path = _alpha_gradients(reference, draws)
    diff = score.mean(0) - path.mean(0)
    se = (score.var(0) / draws + path.var(0) / draws).sqrt()
    assert torch.all(diff.abs() < 5 * se), (score.mean(0), path.mean(0), se)
    assert torch.all(path.var(0) < score.var(0))  # and the pathwise one has lower variance


def test_rsvi_gradient_is_unbiased():
    # RSVI's reparameterised and correction terms against the implicit gradient: the same
    # expectation; RSVI's variance sits between the implicit and the score-function ones
    draws = 200_000
    rsvi = _alpha_gradients("rsvi", draws)
    path = _alpha_gradients("implicit", draws)
    diff = rsvi.mean(0) - path.mean(0)
    se = (rsvi.var(0) / draws + path.var(0) / draws).sqrt()
    assert torch.all(diff.abs() < 5 * se), (rsvi.mean(0), path.mean(0), se)
    assert torch.all(path.var(0) < rsvi.var(0))
    assert torch.all(rsvi.var(0) < _alpha_gradients("score_function", draws).var(0))


def test_the_four_arms_give_the_same_elbo_value():
    x = torch.bernoulli(torch.full((5, 1, 2, 2), 0.5, dtype=torch.float64))
    values = []
    for gradient in ("implicit", "torch", "rsvi", "score_function"):
        method = DirichletVAE(
            DirichletVAEConfig(gradient=gradient, latent_dim=3, hidden=4), "vae_mlp", INFO
        )
        torch.manual_seed(0)
        model = method.build_model().double()
        torch.manual_seed(2)
        values.append(torch.stack([method.bound(model, x) for _ in range(2000)]).mean(0))
    assert torch.allclose(values[0], values[3], atol=0.05)
    assert torch.allclose(values[1], values[3], atol=0.05)
    assert torch.allclose(values[2], values[3], atol=0.05)
