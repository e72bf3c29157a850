"""`sbp`: the truncated log-normal's KL, moments and samples against scipy and mpmath, the
noise layer's masks, and its wiring into the method."""

from __future__ import annotations

import math

import mpmath
import pytest
import torch
from scipy import integrate, stats

from methodlib.methods import METHODS, DataInfo
from methodlib.methods.pruning.sbp import SBPConfig
from methodlib.methods.pruning.variational import (
    LogNormalNoise,
    log_ndtr_diff,
    sample_truncated_normal,
    truncated_kl,
    truncated_moments,
)

A, B = -20.0, 0.0  # SBP's range of log θ
# (μ, σ) of log θ: the interval's middle, its upper end, far outside it, wide and narrow.
POSTERIORS = [(-5.0, 1.0), (0.0, 0.5), (-1.0, 3.0), (-10.0, 0.01), (3.0, 1.0), (-25.0, 2.0)]


def _truncated_density(mu, sigma):
    z = stats.norm.cdf((B - mu) / sigma) - stats.norm.cdf((A - mu) / sigma)
    if z == 0:  # all mass beyond one end: scipy's truncnorm works in the far tail
        dist = stats.truncnorm((A - mu) / sigma, (B - mu) / sigma, loc=mu, scale=sigma)
        return dist.pdf
    return lambda x: stats.norm.pdf(x, mu, sigma) / z


def _integral(f, mu, sigma):
    points = [p for p in (mu, mu - 3 * sigma, mu + 3 * sigma) if A < p < B] or None
    return integrate.quad(f, A, B, points=points, limit=200, epsabs=1e-13, epsrel=1e-10)[0]


@pytest.mark.parametrize(("mu", "sigma"), POSTERIORS)
def test_truncated_log_normal_kl_and_moments_match_numerical_integration(mu, sigma):
    q = _truncated_density(mu, sigma)
    kl = _integral(
        lambda x: q(x) * math.log(max(q(x), 1e-300) * (B - A)) if q(x) > 0 else 0.0, mu, sigma
    )
    mean = _integral(lambda x: math.exp(x) * q(x), mu, sigma)
    second = _integral(lambda x: math.exp(2 * x) * q(x), mu, sigma)
    var = second - mean**2
    t = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
    got_mean, got_snr = truncated_moments(t(mu), t(sigma), A, B)
    assert truncated_kl(t(mu), t(sigma), A, B).item() == pytest.approx(kl, rel=1e-5, abs=1e-6)
    assert got_mean.item() == pytest.approx(mean, rel=1e-6, abs=1e-300)
    if var > 1e-10 * mean**2:  # otherwise the integral's variance is rounding noise
        assert got_snr.item() == pytest.approx(mean / math.sqrt(var), rel=1e-4)


def test_log_ndtr_diff_in_both_tails():
    """Against 250-digit arithmetic, where Φ(hi) − Φ(lo) has no cancellation to fear."""
    lo = [-40.0, 30.0, -1.0, 8.0, -3.0]
    hi = [-39.0, 31.0, 2.0, 8.5, -2.999]
    with mpmath.workdps(250):
        expected = [
            float(mpmath.log(mpmath.ncdf(b) - mpmath.ncdf(a))) for a, b in zip(lo, hi, strict=True)
        ]
    got = log_ndtr_diff(
        torch.tensor(lo, dtype=torch.float64), torch.tensor(hi, dtype=torch.float64)
    )
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64))


@pytest.mark.parametrize(("mu", "sigma"), [(-5.0, 1.0), (0.0, 2.0), (2.0, 1.0), (-22.0, 1.0)])
def test_truncated_normal_samples_follow_the_distribution(mu, sigma):
    torch.manual_seed(0)
    t = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
    x = sample_truncated_normal(t(mu), t(sigma), A, B, torch.Size([20_000, 1])).flatten()
    assert x.min() >= A and x.max() <= B
    reference = stats.truncnorm((A - mu) / sigma, (B - mu) / sigma, loc=mu, scale=sigma)
    assert stats.kstest(x.numpy(), reference.cdf).pvalue > 1e-3


def test_truncated_normal_samples_are_differentiable():
    mu = torch.tensor([-3.0], dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor([0.7], dtype=torch.float64, requires_grad=True)
    sample_truncated_normal(mu, sigma, A, B, torch.Size([100, 1])).sum().backward()
    assert torch.isfinite(mu.grad).all() and torch.isfinite(sigma.grad).all()


def test_noise_layer_masks_low_snr_groups_at_evaluation():
    noise = LogNormalNoise("conv", 4, A, B, 1.0, 0.0, -5.0)
    with torch.no_grad():
        noise.mu.copy_(torch.tensor([0.0, -1.0, -10.0, -3.0]))
        noise.log_sigma.copy_(torch.tensor([-5.0, math.log(0.2), math.log(5.0), math.log(3.0)]))
    mean, snr = noise.moments()
    multiplier = noise.unit_multiplier()
    assert torch.equal(multiplier == 0, snr <= 1.0)
    assert (snr > 1)[:2].all() and (snr <= 1)[2:].all()
    noise.eval()
    x = torch.rand(2, 4, 3, 3)
    torch.testing.assert_close(noise(x), x * multiplier.view(1, 4, 1, 1))
    noise.train()
    torch.manual_seed(0)
    assert not torch.equal(noise(x), noise(x))  # noise differs per draw and example


def test_noise_after_every_hidden_layer_and_kl_of_all_groups():
    method = METHODS["sbp"](SBPConfig(), "lenet5", DataInfo((1, 8, 8), 10, 9))
    model = method.build_model()
    noise = [m for m in model.modules() if isinstance(m, LogNormalNoise)]
    assert [len(m.mu) for m in noise] == [20, 50, 500]
    expected = sum(truncated_kl(*m._posterior(), A, B).sum() for m in noise)
    torch.testing.assert_close(method.kl(model), expected.float())
    stats = method.unit_statistics(model)
    assert list(stats) == ["conv1", "conv2", "fc1"] and stats["conv2"][0].shape == (50,)


def test_config_needs_an_ordered_range():
    with pytest.raises(ValueError, match="a < b"):
        SBPConfig(a=0.0, b=-20.0)
