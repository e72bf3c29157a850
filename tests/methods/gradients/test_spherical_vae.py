"""The vMF VAE (`vmf_vae`) and the von Mises VAE (`von_mises_vae`): closed-form KLs against
Monte Carlo, the draws' mean resultant length against A_m(κ), the Bessel-function derivatives
against finite differences, and each gradient arm's dE[w]/dκ and whole-ELBO gradient against
the closed form and against each other (all arms are unbiased estimators of one gradient)."""

from __future__ import annotations

import math

import pytest
import scipy.special
import torch
from torch.distributions import VonMises

from methodlib.methods.base import DataInfo
from methodlib.methods.gradients.implicit import vmf_radial_rsample
from methodlib.methods.gradients.vae_configs import VMFVAEConfig, VonMisesVAEConfig
from methodlib.methods.gradients.vmf_vae import (
    VMFVAE,
    bessel_ratio,
    householder,
    log_sphere_area,
    vmf_log_normaliser,
    vmf_uniform_kl,
    wood_rsample,
)
from methodlib.methods.gradients.von_mises_vae import VonMisesVAE

INFO = DataInfo(input_shape=(1, 2, 2), n_classes=2, n_train=8)
CASES = [(3, 1.0), (3, 20.0), (5, 4.0), (10, 2.0), (10, 50.0)]


def _ratio_scipy(kappa: float, dim: int) -> float:
    return scipy.special.ive(dim / 2, kappa) / scipy.special.ive(dim / 2 - 1, kappa)


def _vmf_method(dim: int, gradient: str = "implicit") -> VMFVAE:
    return VMFVAE(VMFVAEConfig(latent_dim=dim, hidden=4, gradient=gradient), "vae_mlp", INFO)


def test_sphere_area_and_normaliser_integrate_to_one():
    assert math.isclose(math.exp(log_sphere_area(3)), 4 * math.pi)
    # on S^2, C_3(κ) = κ / (4π sinh κ)
    kappa = torch.tensor([0.5, 3.0, 40.0], dtype=torch.float64)
    expected = kappa.log() - math.log(4 * math.pi) - (torch.sinh(kappa)).log()
    assert torch.allclose(vmf_log_normaliser(kappa, 3), expected)


@pytest.mark.parametrize("dim", [2, 3, 10])
def test_bessel_derivatives_match_finite_differences(dim):
    kappa = torch.tensor([0.3, 2.0, 15.0, 200.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda k: bessel_ratio(k, dim), (kappa,))
    assert torch.autograd.gradcheck(lambda k: vmf_log_normaliser(k, dim), (kappa,))
    assert torch.autograd.gradcheck(lambda k: vmf_uniform_kl(k, dim), (kappa,))


def test_householder_takes_e1_to_mu_and_is_orthogonal():
    torch.manual_seed(0)
    mu = torch.nn.functional.normalize(torch.randn(4, 6, dtype=torch.float64), dim=-1)
    e1 = torch.zeros(4, 6, dtype=torch.float64)
    e1[:, 0] = 1
    assert torch.allclose(householder(mu, e1), mu)
    x = torch.randn(4, 6, dtype=torch.float64)
    assert torch.allclose(householder(mu, x).norm(dim=-1), x.norm(dim=-1))
    assert torch.allclose(householder(e1, x), x)  # μ = e₁: the identity


@pytest.mark.parametrize(("dim", "kappa"), CASES)
def test_draws_have_the_mean_resultant_length_and_kl(dim, kappa):
    """E[z] = A_m(κ) μ, and KL(q ‖ uniform) = E_q[log q − log p] by Monte Carlo."""
    torch.manual_seed(1)
    n = 200_000
    method = _vmf_method(dim)
    mu = torch.nn.functional.normalize(torch.randn(1, dim, dtype=torch.float64), dim=-1)
    k = torch.tensor([kappa], dtype=torch.float64)
    z = method.draw((mu, k), n)[:, 0]
    assert torch.allclose(z.norm(dim=-1), torch.ones(n, dtype=torch.float64))
    w = z @ mu[0]
    a = _ratio_scipy(kappa, dim)
    assert abs(w.mean().item() - a) < 5 * w.std().item() / n**0.5
    assert torch.allclose(bessel_ratio(k, dim), torch.tensor([a], dtype=torch.float64))
    tangent = z - w[:, None] * mu  # the direction orthogonal to μ averages out
    assert tangent.mean(0).norm().item() < 5 * (tangent.pow(2).sum(-1).mean() / n).sqrt().item()
    log_ratio = method.log_posterior(z[:, None], (mu, k))[:, 0] + log_sphere_area(dim)
    se = log_ratio.std().item() / n**0.5
    assert abs(log_ratio.mean().item() - vmf_uniform_kl(k, dim).item()) < 5 * se + 1e-9


def test_von_mises_kl_matches_monte_carlo_and_density():
    torch.manual_seed(2)
    kappa = torch.tensor([0.05, 1.0, 8.0, 80.0], dtype=torch.float64)
    loc = torch.tensor([0.3, -2.0, 3.0, 0.0], dtype=torch.float64)
    z = VonMises(loc, kappa).sample((200_000,))
    log_ratio = VonMises(loc, kappa).log_prob(z) + math.log(2 * math.pi)
    se = log_ratio.std(0) / 200_000**0.5
    assert torch.all((log_ratio.mean(0) - vmf_uniform_kl(kappa, 2)).abs() < 5 * se + 1e-9)
    # the m = 2 normaliser is von Mises': C_2(κ) = 1 / (2π I₀(κ))
    expected = -math.log(2 * math.pi) - torch.special.i0(kappa).log()
    assert torch.allclose(vmf_log_normaliser(kappa, 2), expected)


@pytest.mark.parametrize(("dim", "kappa"), [(3, 1.0), (5, 4.0), (10, 50.0)])
def test_radial_gradient_estimators_match_the_closed_form(dim, kappa):
    """dE[w]/dκ = A_m'(κ) = 1 − A² − (m − 1)A/κ: the implicit gradient, and Wood's
    reparameterisation with its correction term, average to it; without the correction
    (g_rep alone) the estimate is biased."""
    torch.manual_seed(3)
    n = 50_000
    a = _ratio_scipy(kappa, dim)
    exact = 1 - a**2 - (dim - 1) * a / kappa
    step = 1e-5 * kappa
    assert math.isclose(
        exact,
        (_ratio_scipy(kappa + step, dim) - _ratio_scipy(kappa - step, dim)) / (2 * step),
        rel_tol=1e-6,
    )
    k = torch.full((n,), kappa, dtype=torch.float64, requires_grad=True)
    implicit = torch.autograd.grad(vmf_radial_rsample(k, dim).sum(), k)[0]
    w, log_pi = wood_rsample(k, dim)
    rep = torch.autograd.grad(w.sum(), k, retain_graph=True)[0]
    cor = torch.autograd.grad((w.detach() * log_pi).sum(), k)[0]
    for estimate in (implicit, rep + cor):
        assert abs(estimate.mean().item() - exact) < 5 * estimate.std().item() / n**0.5
    if kappa < 10:  # at small κ, where many proposals are rejected, g_rep alone is off
        assert abs(rep.mean().item() - exact) > 5 * rep.std().item() / n**0.5


def _gradients(method, params: tuple[torch.Tensor, ...], draws: int) -> list[torch.Tensor]:
    """Per-draw gradients w.r.t. the posterior's parameters of the one-draw estimate of
    E_q log p(x | z) for a fixed tiny decoder and image (each row its own draw)."""
    torch.manual_seed(0)
    model = method.build_model().double().eval()
    method.baseline = -2.5  # a constant baseline: the estimator stays unbiased
    x = torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]], dtype=torch.float64).expand(draws, -1, -1, -1)
    leaves = [p.repeat(draws, *[1] * (p.dim() - 1)).requires_grad_() for p in params]
    torch.manual_seed(1)
    value = method.expected_log_likelihood(model, x, tuple(leaves))
    return list(torch.autograd.grad(value.sum(), leaves))


def _assert_same_mean(a: torch.Tensor, b: torch.Tensor) -> None:
    n = len(a)
    se = (a.var(0) / n + b.var(0) / n).sqrt()
    assert torch.all((a.mean(0) - b.mean(0)).abs() < 5 * se + 1e-12), (a.mean(0), b.mean(0), se)


def test_vmf_arms_estimate_the_same_gradient():
    dim, draws = 4, 50_000
    mu = torch.nn.functional.normalize(torch.tensor([[0.3, -1.0, 0.5, 0.2]]), dim=-1).double()
    params = (mu, torch.tensor([3.0], dtype=torch.float64))
    grads = {
        g: _gradients(_vmf_method(dim, g), params, draws)
        for g in ("implicit", "rejection", "score_function")
    }
    for g_mu, _ in grads.values():  # q is defined for unit μ: compare the tangent components
        g_mu -= (g_mu @ mu[0])[:, None] * mu
    for gradient in ("rejection", "score_function"):
        for ours, theirs in zip(grads["implicit"], grads[gradient], strict=True):
            _assert_same_mean(ours, theirs)
    # the pathwise arms have lower variance in κ than the score function
    assert grads["implicit"][1].var() < grads["score_function"][1].var()


def test_von_mises_arms_estimate_the_same_gradient():
    draws = 200_000
    params = (
        torch.tensor([[0.4, -2.5]], dtype=torch.float64),
        torch.tensor([[0.7, 6.0]], dtype=torch.float64),
    )
    grads = {
        g: _gradients(
            VonMisesVAE(VonMisesVAEConfig(latent_dim=2, hidden=4, gradient=g), "vae_mlp", INFO),
            params,
            draws,
        )
        for g in ("implicit", "score_function")
    }
    for ours, theirs in zip(grads["implicit"], grads["score_function"], strict=True):
        _assert_same_mean(ours, theirs)


@pytest.mark.parametrize("method_class", [VMFVAE, VonMisesVAE])
def test_elbo_and_log_weights_are_finite_and_ordered(method_class):
    """On random binary images the test ELBO is below the importance-sampled bound."""
    config = method_class.Config(latent_dim=3, hidden=8, eval_samples=50)
    method = method_class(config, "vae_mlp", INFO)
    torch.manual_seed(4)
    model = method.build_model().double().eval()
    x = torch.bernoulli(torch.full((6, 1, 2, 2), 0.5, dtype=torch.float64))
    with torch.no_grad():
        method.score_test(model, x, batch_size=3)
        elbo = torch.stack([method.bound(model, x) for _ in range(500)]).mean()
    scores = method.test_scores
    assert math.isfinite(scores["test_elbo"]) and scores["test_elbo"] <= scores["test_ll"] + 1e-6
    assert abs(elbo.item() - scores["test_elbo"]) < 0.1
