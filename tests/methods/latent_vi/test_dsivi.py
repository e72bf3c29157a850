"""DSIVI's semi-implicit prior against direct computations: with the prior's mixing made a
Gaussian mixing a Gaussian (p(z | ρ) = N(Aρ + b, s² I), ρ ~ N(0, I)), whose marginal is
N(b, AAᵀ + s² I) in closed form, its K-draw estimates bracket the exact log p(z) in
expectation and close in on it; and the training bound stays below the ELBO computed with the
exact prior."""

from __future__ import annotations

import math

import pytest
import torch

from methodlib.methods.base import DataInfo
from methodlib.methods.latent_vi.base import gaussian_log_density
from methodlib.methods.latent_vi.configs import DSIVIConfig
from methodlib.methods.latent_vi.dsivi import DSIVI
from methodlib.methods.latent_vi.sivi import SIVI, sandwich

A = torch.tensor([[1.5, 0.0], [0.0, -1.0]], dtype=torch.float64)
B = torch.tensor([0.3, -0.2], dtype=torch.float64)
S = 0.5
INFO = DataInfo(input_shape=(1, 2, 2), n_classes=2, n_train=8)
X = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]], dtype=torch.float64).view(2, 1, 2, 2)


pytestmark = pytest.mark.usefixtures("double_precision")


class LinearPrior(DSIVI):
    """DSIVI whose prior components are a linear map of Gaussian noise."""

    def prior_components(self, model, n, device):
        rho = torch.randn(n, 2, device=device)
        return rho @ A.T + B, torch.full((n, 2), 2 * math.log(S))


def exact_log_prior(z):
    cov = A @ A.T + S**2 * torch.eye(2)
    return torch.distributions.MultivariateNormal(B, cov).log_prob(z)


def linear(prior_k=100, **options):
    torch.manual_seed(0)
    config = DSIVIConfig(latent_dim=2, hidden=8, noise_dim=2, prior_k=prior_k, **options)
    method = LinearPrior(config, "vae_mlp", INFO)
    return method, method.build_model().double()


def test_prior_lower_bound_is_below_log_p_in_expectation_and_reaches_it():
    method, model = linear()
    torch.manual_seed(1)
    z = B + 0.8 * torch.randn(20, 2)  # in the bulk: in the tails K = 20,000 draws are too few
    exact = exact_log_prior(z)
    for k in (1, 10):
        method.prior_draws = k
        estimates = torch.stack([method.log_prior(model, z) for _ in range(2000)])
        assert (estimates.mean(0) < exact).all()
    # the exponent of lower_K is an unbiased estimate of p(z): 2,000 of them average to it
    torch.testing.assert_close(
        torch.logsumexp(estimates, 0) - math.log(len(estimates)), exact, atol=0.05, rtol=0
    )
    method.prior_draws = 20_000
    estimates = torch.stack([method.log_prior(model, z) for _ in range(20)])
    torch.testing.assert_close(estimates.mean(0), exact, atol=0.03, rtol=0)


def test_prior_sandwich_brackets_the_exact_log_p_and_closes_in():
    method, model = linear()
    torch.manual_seed(2)
    mean, log_var = method.prior_components(model, 4000, "cpu")
    z = mean + (0.5 * log_var).exp() * torch.randn_like(mean)
    exact = exact_log_prior(z)
    first = gaussian_log_density(z, mean, log_var)
    for k in (1, 10, 100):
        m, lv = method.prior_components(model, k, "cpu")
        upper, lower = sandwich(first, gaussian_log_density(z, m.unsqueeze(1), lv.unsqueeze(1)))
        se = 4 * (upper - exact).std() / math.sqrt(len(z))
        assert (upper - exact).mean() > -se and (lower - exact).mean() < se
    gaps = method.prior_gaps(model, 2000, "cpu")
    assert gaps[1] > gaps[10] > gaps[100] > 0


def test_training_bound_is_below_the_elbo_with_the_exact_prior():
    """E[log p(x | z) + lower_K log p(z) − upper_K log q] ≤ E[log p(x | z) + log p(z) −
    log q] ≤ log p(x): the DSIVI bound sits below SIVI's with the exact prior, and meets it
    as K grows."""
    method, model = linear(prior_k=5)

    class Exact(SIVI):
        def log_prior(self, model, z):
            return exact_log_prior(z)

    exact = Exact(method.config, "vae_mlp", INFO)
    xs = X.repeat(4000, 1, 1, 1)
    with torch.no_grad():
        torch.manual_seed(3)
        few = method.bound(model, xs).mean().item()
        torch.manual_seed(3)
        with_exact = exact.bound(model, xs).mean().item()
        method.prior_draws = 2000
        torch.manual_seed(3)
        many = method.bound(model, xs[:400]).mean().item()
        torch.manual_seed(3)
        with_exact_400 = exact.bound(model, xs[:400]).mean().item()
    assert few < with_exact
    assert many == pytest.approx(with_exact_400, abs=0.02)


def test_score_test_reports_the_prior_sandwich_and_restores_the_training_draws():
    config = DSIVIConfig(
        latent_dim=2,
        hidden=8,
        noise_dim=2,
        eval_samples=5,
        bound_examples=3,
        prior_k=4,
        prior_eval_k=9,
    )
    torch.manual_seed(0)
    method = DSIVI(config, "vae_mlp", INFO)
    model = method.build_model()
    method.score_test(model, torch.rand(3, 1, 2, 2), batch_size=2)
    metrics = method.run_metrics(model)
    assert method.prior_draws == 4
    for k in (1, 10, 100):
        assert math.isfinite(metrics[f"prior_gap_k{k}"]) and f"logq_gap_k{k}" in metrics
    assert metrics["prior_gap_drop_10_100"] == pytest.approx(
        metrics["prior_gap_k10"] - metrics["prior_gap_k100"]
    )
    assert math.isfinite(metrics["test_ll"]) and metrics["test_ll"] < 0
    assert method.generate(model, 4, "cpu").shape == (4, 1, 2, 2)
