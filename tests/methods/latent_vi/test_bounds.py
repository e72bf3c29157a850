"""The bounds of the latent-variable VAEs against direct computations: the semi-implicit
sandwich on a Gaussian mixing a Gaussian (whose marginal is Gaussian in closed form), the
importance-sampled log-likelihood and robust VI's bound against quadrature over a 1-d latent,
the VampPrior's density against its mixture written out."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from methodlib.methods.base import DataInfo, StepContext
from methodlib.methods.latent_vi.base import (
    gaussian_log_density,
    importance_log_likelihood,
    standard_log_density,
)
from methodlib.methods.latent_vi.configs import (
    GaussianVAEConfig,
    IWHVIConfig,
    RobustVAEConfig,
    SIVIConfig,
    VampPriorConfig,
)
from methodlib.methods.latent_vi.gaussian import GaussianVAE
from methodlib.methods.latent_vi.iwhvi import IWHVI
from methodlib.methods.latent_vi.robust import RobustVAE
from methodlib.methods.latent_vi.sivi import SIVI, log_q_bounds
from methodlib.methods.latent_vi.vampprior import VampPrior

pytestmark = pytest.mark.usefixtures("double_precision")


class LinearMixing(nn.Module):
    """q(z | ψ) = N(Aψ + b, s² I), ψ ~ N(0, I): q(z) = N(b, AAᵀ + s² I), and q(ψ | z) is
    Gaussian too (conjugacy), the ideal reverse model."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor, s: float):
        super().__init__()
        self.a, self.b, self.s = a, b, s
        self.noise_dim = a.shape[1]

    def encode(self, h, psi):
        return psi @ self.a.T + self.b, torch.full_like(self.b, 2 * math.log(self.s))

    def log_q(self, z):
        cov = self.a @ self.a.T + self.s**2 * torch.eye(len(self.b))
        return torch.distributions.MultivariateNormal(self.b, cov).log_prob(z)

    def posterior(self, z):
        """q(ψ | z) = N(m, C): C = (I + AᵀA/s²)⁻¹, m = C Aᵀ (z − b)/s²; diagonal when AᵀA is."""
        precision = torch.eye(self.noise_dim) + self.a.T @ self.a / self.s**2
        cov = torch.linalg.inv(precision)
        mean = (z - self.b) @ self.a @ cov.T / self.s**2
        return mean, torch.log(torch.diagonal(cov)).expand_as(mean)


@pytest.fixture
def mixing():
    torch.manual_seed(0)
    # orthogonal columns: AᵀA diagonal, so the exact posterior of ψ has a diagonal covariance
    a = torch.tensor([[1.5, 0.0], [0.0, -1.0], [0.0, 0.0]])
    return LinearMixing(a, torch.tensor([0.3, -0.2, 0.1]), 0.5)


def draws(model: LinearMixing, n: int):
    psi0 = torch.randn(n, 1, model.noise_dim)
    mean, log_var = model.encode(None, psi0)
    z = mean + (0.5 * log_var).exp() * torch.randn_like(mean)
    return psi0, z, log_var


def test_sivi_sandwich_holds_in_expectation_and_closes_in_on_the_exact_log_q(mixing):
    psi0, z, log_var = draws(mixing, 4000)
    exact = mixing.log_q(z)
    gaps = []
    for k in (1, 10, 100):
        upper, lower = log_q_bounds(mixing, None, z, psi0, k, None)
        err_up, err_low = (upper - exact).mean().item(), (lower - exact).mean().item()
        se = 4 * (upper - exact).std().item() / math.sqrt(len(z))
        assert err_up > -se and err_low < 4 * (lower - exact).std().item() / math.sqrt(len(z))
        gaps.append((upper - lower).mean().item())
    assert gaps[0] > gaps[1] > gaps[2] > 0
    upper, lower = log_q_bounds(mixing, None, z, psi0, 3000, None)
    assert (upper - exact).mean().item() == pytest.approx(0.0, abs=0.02)
    assert (lower - exact).mean().item() == pytest.approx(0.0, abs=0.02)


def test_the_exact_reverse_model_makes_both_bounds_exact_at_one_draw(mixing):
    psi0, z, log_var = draws(mixing, 200)
    upper, lower = log_q_bounds(mixing, None, z, psi0, 1, mixing.posterior(z))
    exact = mixing.log_q(z)
    torch.testing.assert_close(upper, exact)
    torch.testing.assert_close(lower, exact)


def test_a_reverse_model_near_the_posterior_is_tighter_than_sivi(mixing):
    psi0, z, log_var = draws(mixing, 2000)
    mean, log_var_tau = mixing.posterior(z)
    near = (mean + 0.1, log_var_tau + 0.2)
    iwhvi_up, iwhvi_low = log_q_bounds(mixing, None, z, psi0, 10, near)
    sivi_up, sivi_low = log_q_bounds(mixing, None, z, psi0, 100, None)
    assert (iwhvi_up - iwhvi_low).mean() < (sivi_up - sivi_low).mean()


INFO = DataInfo(input_shape=(1, 2, 2), n_classes=2, n_train=8)


def one_latent(cls, config):
    torch.manual_seed(0)
    method = cls(config, "vae_mlp", INFO)
    return method, method.build_model().double()


def quadrature_log_p(method, model, x, log_epsilon=None):
    """log p(x) (or log(ε + p(x))) of each image by a grid over the 1-d latent."""
    grid = torch.linspace(-8, 8, 4001).view(-1, 1, 1)
    log_joint = method.log_likelihood(model, x, grid) + method.log_prior(model, grid)
    log_p = torch.logsumexp(log_joint, 0) + math.log(16 / 4000)
    return log_p if log_epsilon is None else torch.logaddexp(torch.tensor(log_epsilon), log_p)


X = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]], dtype=torch.float64).view(2, 1, 2, 2)


@pytest.mark.parametrize(
    ("cls", "config"),
    [
        (GaussianVAE, GaussianVAEConfig(latent_dim=1, hidden=8)),
        (VampPrior, VampPriorConfig(latent_dim=1, hidden=8, pseudo_inputs=3)),
        (SIVI, SIVIConfig(latent_dim=1, hidden=8, noise_dim=2, eval_k=200)),
        (IWHVI, IWHVIConfig(latent_dim=1, hidden=8, noise_dim=2, eval_k=50)),
    ],
)
def test_importance_sampled_log_likelihood_matches_quadrature(cls, config):
    method, model = one_latent(cls, config)
    exact = quadrature_log_p(method, model, X).mean().item()
    torch.manual_seed(1)
    with torch.no_grad():
        estimate = importance_log_likelihood(lambda b: method.log_weights(model, b, 3000), X, 1)
        elbo = method.bound(model, X.repeat(2000, 1, 1, 1)).mean().item()
    assert estimate == pytest.approx(exact, abs=0.03)
    assert elbo < exact


def test_vampprior_density_is_the_mixture_of_the_encoded_pseudo_inputs():
    method, model = one_latent(VampPrior, VampPriorConfig(latent_dim=1, hidden=8, pseudo_inputs=3))
    z = torch.randn(5, 1)
    mean, log_var = model.encode(model.features(model.pseudo_images()))
    direct = torch.log(
        sum(gaussian_log_density(z, mean[k], log_var[k]).exp() for k in range(3)) / 3
    )
    torch.testing.assert_close(method.log_prior(model, z), direct)


def test_robust_bound_is_below_the_robust_evidence_and_reaches_it_with_many_draws():
    log_epsilon = -3.0
    config = RobustVAEConfig(latent_dim=1, hidden=8, log_epsilon=log_epsilon, draws=4000)
    method, model = one_latent(RobustVAE, config)
    exact = quadrature_log_p(method, model, X, log_epsilon)
    with torch.no_grad():
        torch.manual_seed(2)
        many = method.robust_bound(model, X, log_epsilon)
        method.config = config.model_copy(update={"draws": 1})
        one = torch.stack([method.robust_bound(model, X, log_epsilon) for _ in range(4000)])
    torch.testing.assert_close(many, exact, atol=0.02, rtol=0)
    assert (one.mean(0) < exact).all()


def test_robust_bound_is_the_elbo_when_epsilon_vanishes_and_log_epsilon_when_it_dominates():
    method, model = one_latent(RobustVAE, RobustVAEConfig(latent_dim=1, hidden=8))
    torch.manual_seed(3)
    elbo = GaussianVAE.bound(method, model, X)
    torch.manual_seed(3)
    torch.testing.assert_close(method.robust_bound(model, X, -1e4), elbo)
    torch.testing.assert_close(method.robust_bound(model, X, 1e3), torch.full((2,), 1e3))


def test_epsilon_rises_linearly_over_the_warm_up():
    config = RobustVAEConfig(log_epsilon=-300.0, log_epsilon_start=-1000.0, warmup=0.5)
    method = RobustVAE(config, "vae_mlp", INFO)
    assert method.log_epsilon(0.0) == -1000.0
    assert method.log_epsilon(0.25) == pytest.approx(-650.0)
    assert method.log_epsilon(0.5) == method.log_epsilon(0.9) == -300.0
    ctx = StepContext(0, 0, 1, 1, 8)
    assert torch.isfinite(method.loss(method.build_model(), X, None, ctx))


def test_score_test_reports_the_log_likelihood_and_the_sandwich_gaps():
    config = IWHVIConfig(latent_dim=2, hidden=8, noise_dim=2, eval_samples=5, bound_examples=2)
    method, model = one_latent(IWHVI, config)
    method.score_test(model, torch.rand(3, 1, 2, 2), batch_size=2)
    metrics = method.run_metrics(model)
    for k in (1, 10, 100):
        assert metrics[f"logq_gap_k{k}"] >= 0 and metrics[f"sivi_logq_gap_k{k}"] >= 0
    assert metrics["logq_gap_drop_1_10"] == pytest.approx(
        metrics["logq_gap_k1"] - metrics["logq_gap_k10"]
    )
    assert metrics["iwhvi10_sivi100_margin"] == pytest.approx(
        metrics["sivi_logq_gap_k100"] - metrics["logq_gap_k10"]
    )
    assert math.isfinite(metrics["test_ll"])
    assert standard_log_density(torch.zeros(1, 2)).item() == pytest.approx(-math.log(2 * math.pi))
