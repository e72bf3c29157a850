"""Each estimator against the closed-form gradients of the survey's costs, the measure-valued
couplings' marginals, the closed forms themselves against finite differences of the exact
expectations, and the variances the survey derives."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from methodlib.methods.mc_gradients.costs import COSTS, K_GRID, cost, exact_gradient
from methodlib.methods.mc_gradients.estimators import ESTIMATORS, gradient_terms
from methodlib.routines.estimator import SIGMA_GRID, SIGMA_K, cost_study, estimator_metrics
from methodlib.tasks.estimator import COST_NAMES

N = 200_000


def _expectation(name: str, k: float, mu: float, sigma: float) -> float:
    """E_{N(μ, σ²)} f by Gauss–Hermite quadrature (exact for the square cost)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    x = torch.tensor(mu + sigma * nodes)[:, None]
    return float((cost(name, k)(x).numpy() * weights).sum() / math.sqrt(2 * math.pi))


@pytest.mark.parametrize("name", COSTS)
@pytest.mark.parametrize("k", [1.0, 3.0])
def test_exact_gradients_match_finite_differences(name, k):
    mu, sigma, h = 0.7, 1.3, 1e-5
    d_mu = (_expectation(name, k, mu + h, sigma) - _expectation(name, k, mu - h, sigma)) / (2 * h)
    d_sigma = (_expectation(name, k, mu, sigma + h) - _expectation(name, k, mu, sigma - h)) / (
        2 * h
    )
    np.testing.assert_allclose(exact_gradient(name, k, mu, sigma), (d_mu, d_sigma), atol=1e-5)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("name", COSTS)
def test_estimators_are_unbiased(estimator, name):
    mu = torch.tensor([0.7], dtype=torch.float64)
    sigma = torch.tensor([1.3], dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    for k in (1.0, 2.0):
        terms = gradient_terms(estimator, cost(name, k), mu, sigma, (N // 10, 10), generator)
        for term, exact in zip(terms, exact_gradient(name, k, 0.7, 1.3), strict=True):
            error = term.std().item() / math.sqrt(term.numel())
            assert abs(term.mean().item() - exact) < 4.5 * error + 1e-12, (k, exact)


def test_variances_match_the_survey_closed_forms():
    """(x − k)² under N(μ, σ²): pathwise ∂μ term 2(x − k) has variance 4σ²; the coupled
    measure-valued ∂μ term 4(μ − k)W / √(2π) has variance 16 (μ − k)² (2 − π/2) / (2π)."""
    mu, sigma = torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.5], dtype=torch.float64)
    f = cost("square", 3.0)
    pathwise = gradient_terms("pathwise", f, mu, sigma, N)[0]
    assert pathwise.var().item() == pytest.approx(4 * 1.5**2, rel=0.02)
    measure = gradient_terms("measure_valued", f, mu, sigma, N)[0]
    assert measure.var().item() == pytest.approx(
        16 * 4 * (2 - math.pi / 2) / (2 * math.pi), rel=0.02
    )
    at_k = gradient_terms("measure_valued", cost("square", 1.0), mu, sigma, 100)[0]
    assert at_k.abs().max() < 1e-12  # coupled: f(μ + σW) = f(μ − σW) when k = μ


def test_measure_valued_couplings_have_the_right_marginals():
    """The ∂σ estimator's negative side M·U must be a standard normal and its positive side
    double-sided Maxwell: with f(x) = x² they give E = σ²(3 − 1)/σ = 2σ, the exact gradient,
    and with f(x) = x⁴, 3σ⁴ (15 − 3)/σ = ∂σ E[x⁴] = 12σ³."""
    zero, sigma = torch.zeros(1, dtype=torch.float64), torch.tensor([0.8], dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    for power, exact in ((2, 2 * 0.8), (4, 12 * 0.8**3)):
        f = lambda x, power=power: x[..., 0] ** power  # noqa: E731
        _, g_sigma = gradient_terms("measure_valued", f, zero, sigma, N, g)
        assert g_sigma.mean().item() == pytest.approx(exact, rel=0.03)


def test_measure_valued_handles_many_dimensions_one_coordinate_at_a_time():
    """f(x) = Σ_d a_d x_d²: ∂μ_d = 2 a_d μ_d, ∂σ_d = 2 a_d σ_d, each from its own coordinate."""
    a = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    mu = torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
    sigma = torch.tensor([0.5, 1.0, 0.2], dtype=torch.float64)
    g_mu, g_sigma = gradient_terms(
        "measure_valued",
        lambda x: (a * x**2).sum(-1),
        mu,
        sigma,
        N,
        torch.Generator().manual_seed(2),
    )
    torch.testing.assert_close(g_mu.mean(0), 2 * a * mu, atol=0.02, rtol=0.02)
    torch.testing.assert_close(g_sigma.mean(0), 2 * a * sigma, atol=0.03, rtol=0.03)


def test_baseline_uses_only_its_own_group_and_lowers_the_square_cost_variance():
    mu, sigma = torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
    f = cost("square", 4.0)
    plain = gradient_terms("score_function", f, mu, sigma, (5000, 16))[0].mean(-2)
    based = gradient_terms("score_function_baseline", f, mu, sigma, (5000, 16))[0].mean(-2)
    assert based.var() < 0.7 * plain.var()
    # one sample per group: no other sample, no baseline
    single = torch.Generator().manual_seed(3)
    a = gradient_terms("score_function_baseline", f, mu, sigma, (50, 1), single)
    b = gradient_terms("score_function", f, mu, sigma, (50, 1), torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)


def test_unknown_estimator_or_cost_is_an_error():
    with pytest.raises(ValueError, match="unknown estimator"):
        gradient_terms("reinforce", cost("cos", 1.0), torch.zeros(1), torch.ones(1), 4)
    with pytest.raises(ValueError, match="unknown cost"):
        cost("sin", 1.0)


def test_cost_study_metrics_are_those_declared():
    from methodlib.methods.mc_gradients.configs import MCGradientVIConfig
    from methodlib.tasks import get_task
    from methodlib.tasks.base import matches

    assert COST_NAMES == COSTS  # the task declares the metrics without importing torch
    torch.manual_seed(0)
    config = MCGradientVIConfig(estimator="pathwise", grid_replicates=500)
    metrics = estimator_metrics(cost_study(config), config.grid_samples)
    assert len([m for m in metrics if "_k" in m]) == 2 * sum(len(k) for k in K_GRID.values())
    swept = [m for m in metrics if re.fullmatch(r"var_\w+_s\d+", m)]
    assert len(swept) == 2 * len(COSTS) * len(SIGMA_GRID)
    assert all(matches(m, get_task("estimator").metrics) for m in metrics)
    assert metrics["var_mu_square_k3"] == pytest.approx(4.0, rel=0.15)  # 4σ²
    assert 0.6 < metrics["bias_z_rms"] < 1.5


@pytest.mark.parametrize("estimator", ["score_function", "pathwise", "measure_valued"])
def test_sigma_sweep_is_unbiased_with_the_closed_form_variances(estimator):
    """The σ sweep's estimates average to the closed-form gradients at every σ, and on the
    quadratic cost (d = μ − k) the per-sample variances of ∂μ are the closed forms: pathwise
    2(x − k) = 2(d + σε): 4σ²; score function (d + σε)² ε / σ:
    (d⁴ + 18 d²σ² + 15 σ⁴) / σ² − 4d²."""
    from methodlib.methods.mc_gradients.configs import MCGradientVIConfig

    torch.manual_seed(1)
    config = MCGradientVIConfig(estimator=estimator, grid_replicates=2000)
    saved = cost_study(config)
    by_sigma, exact = saved["by_sigma"], saved["exact_sigma"]
    se = by_sigma.std(-1, ddof=1) / by_sigma.shape[-1] ** 0.5
    assert np.abs((by_sigma.mean(-1) - exact) / se).max() < 5
    for j, s in enumerate(SIGMA_GRID):
        sigma, d = s / 100, 1.0 - SIGMA_K["square"]
        assert exact[0, j, 0] == pytest.approx(2 * d)
        var = config.grid_samples * by_sigma[0, j, 0].var(ddof=1)
        if estimator == "pathwise":
            assert var == pytest.approx(4 * sigma**2, rel=0.15)
        elif estimator == "score_function":
            closed = (d**4 + 18 * d**2 * sigma**2 + 15 * sigma**4) / sigma**2 - 4 * d**2
            assert var == pytest.approx(closed, rel=0.25)
