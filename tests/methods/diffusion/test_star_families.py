"""The SS-DDPM noising families against their textbook moments, Monte-Carlo KLs, reference
densities (torch.distributions, scipy) and, for the Gaussian, DDPM itself.

Monte-Carlo tolerances are about five standard errors of the estimate, so a seeded run that
passes is not passing by luck, and a wrong constant (a factor of 2, a missing A_t) fails.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import gammaln

from methodlib.methods.diffusion.configs import FAMILY_SCHEDULES
from methodlib.methods.diffusion.star_families import (
    FAMILIES,
    GaussianFamily,
    StarFamily,
    ddpm_alpha_bar,
    make_family,
    sample_vmf,
    vmf_mean_length,
)

STEPS = 20
D = 3


def data_point(name: str, n: int, seed: int = 0) -> torch.Tensor:
    """n points of the family's domain in R^3, away from the domain's edges."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, D, generator=g)
    if name == "gaussian":
        return z
    if name == "beta":
        return torch.sigmoid(z)
    if name == "dirichlet":
        return torch.softmax(z, dim=-1)
    return torch.nn.functional.normalize(z, dim=-1)


def repeat(x: torch.Tensor, n: int) -> torch.Tensor:
    return x.expand(n, *x.shape[1:]).contiguous()


def in_domain(name: str, x: torch.Tensor) -> bool:
    if name == "gaussian":
        return bool(torch.isfinite(x).all())
    if name == "beta":
        return bool(((x >= 0) & (x <= 1)).all())
    if name == "dirichlet":
        return bool((x >= 0).all() and torch.allclose(x.sum(-1), torch.ones(()), atol=1e-5))
    return bool(torch.allclose(x.norm(dim=-1), torch.ones(()), atol=1e-5))


@pytest.fixture(params=sorted(FAMILIES))
def family(request) -> StarFamily:
    return make_family(request.param, STEPS)


def test_make_family_names_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="unknown"):
        make_family("gamma", 10)
    with pytest.raises(ValueError, match="nu_max"):
        make_family("beta", 10, concentration=3.0)
    with pytest.raises(ValueError, match="nu_min"):
        make_family("dirichlet", 10, nu_min=5.0, nu_max=1.0)


@pytest.mark.parametrize("t", [0, 1, STEPS // 2, STEPS])
def test_samples_lie_in_the_domain(family: StarFamily, t: int) -> None:
    torch.manual_seed(0)
    x0 = data_point(family.name, 500)
    steps = torch.full((500,), t)
    assert in_domain(family.name, family.sample(x0, steps))
    assert in_domain(family.name, family.prior_sample((500, D)))
    assert in_domain(family.name, family.clamp(torch.randn(500, D) * 5))
    assert torch.isfinite(family.stat(family.sample(x0, steps), steps)).all()


def test_image_shapes_reduce_to_one_kl_per_example(family: StarFamily) -> None:
    """Gaussian and Beta take (B, C, H, W) coordinate-wise; Dirichlet and vMF act on the last
    dim, the others being independent points."""
    torch.manual_seed(0)
    x0 = family.clamp(torch.randn(4, 2, 5, D))
    x0_hat = family.clamp(torch.randn(4, 2, 5, D))
    t = torch.tensor([0, 3, 7, STEPS])
    x_t = family.sample(x0, t)
    assert x_t.shape == family.stat(x_t, t).shape == family.sample_tail(x0, t).shape == x0.shape
    assert family.kl(x0, x0_hat, t).shape == family.log_prob(x_t, x0, t).shape == (4,)
    assert family.prior_kl(x0).shape == (4,)
    # the KL of a batch is the sum of the KLs of its points
    per_point = family.kl(x0.reshape(-1, D), x0_hat.reshape(-1, D), t.repeat_interleave(10))
    assert torch.allclose(family.kl(x0, x0_hat, t), per_point.reshape(4, 10).sum(1), rtol=1e-4)


def expected_moments(family: StarFamily, x0: torch.Tensor, t: int):
    """Mean and variance of q(x_t | x0) from the textbook formulas (vMF: mean only)."""
    x0 = x0.double()
    if family.name == "gaussian":
        a = float(family.alpha_bar[t])
        return math.sqrt(a) * x0, torch.full_like(x0, 1 - a)
    if family.name == "beta":
        c = float(family.excess[t])
        alpha, beta = 1 + c * x0, 1 + c * (1 - x0)
        total = alpha + beta
        return alpha / total, alpha * beta / (total**2 * (total + 1))
    if family.name == "dirichlet":
        alpha = 1 + float(family.nu[t]) * x0
        total = alpha.sum(-1, keepdim=True)
        return alpha / total, alpha * (total - alpha) / (total**2 * (total + 1))
    return float(vmf_mean_length(float(family.kappa[t]), D)) * x0, None


@pytest.mark.parametrize("t", [1, STEPS // 2, STEPS - 2])
def test_moments_match_the_formulas(family: StarFamily, t: int) -> None:
    torch.manual_seed(1)
    n = 20000
    x0 = data_point(family.name, 1)
    x = family.sample(repeat(x0, n), torch.full((n,), t)).double()
    mean, var = expected_moments(family, x0, t)
    sd = x.std(0)
    assert torch.allclose(x.mean(0), mean[0], atol=float(5 * sd.max() / math.sqrt(n)) + 1e-9)
    if var is not None:
        # the sample variance's standard error is about var·√(2 / n) for near-normal draws
        assert torch.allclose(x.var(0), var[0], rtol=5 * math.sqrt(2 / n) * 1.5, atol=1e-12)


def test_log_prob_matches_reference_densities() -> None:
    """The families' densities, against scipy for the three with scipy densities and, for the
    vMF, its normalisation: E_uniform[q(x)] · |S²| = 1."""
    torch.manual_seed(2)
    t = torch.full((200,), 7)
    for name, reference in [
        ("gaussian", lambda x, f, x0: stats.norm(
            math.sqrt(float(f.alpha_bar[7])) * x0, math.sqrt(1 - float(f.alpha_bar[7]))
        ).logpdf(x).sum(1)),
        ("beta", lambda x, f, x0: stats.beta(
            1 + float(f.excess[7]) * x0, 1 + float(f.excess[7]) * (1 - x0)
        ).logpdf(x).sum(1)),
        ("dirichlet", lambda x, f, x0: np.array([
            stats.dirichlet(1 + float(f.nu[7]) * a).logpdf(b) for a, b in zip(x0, x, strict=True)
        ])),
    ]:  # fmt: skip
        family = make_family(name, STEPS)
        x0 = data_point(name, 200).double()
        x = family.sample(x0, t)
        ours = family.log_prob(x, x0, t).numpy()
        assert np.allclose(ours, reference(x.numpy(), family, x0.numpy()), rtol=1e-6, atol=1e-6)
    vmf = make_family("vmf", STEPS)
    n = 200000
    uniform = vmf.prior_sample((n, D), dtype=torch.float64)
    x0 = repeat(data_point("vmf", 1).double(), n)
    for t_value in [5, 12]:
        density = vmf.log_prob(uniform, x0, torch.full((n,), t_value)).exp()
        mass = float(density.mean()) * 4 * math.pi
        assert mass == pytest.approx(1.0, abs=5 * float(density.std()) * 4 * math.pi / n**0.5)


@pytest.mark.parametrize("t", [3, 9, 15])
def test_kl_is_zero_on_the_diagonal_and_matches_monte_carlo(family: StarFamily, t: int) -> None:
    torch.manual_seed(3)
    n = 40000
    x0 = data_point(family.name, 1, seed=4).double()
    x0_hat = data_point(family.name, 1, seed=5).double()
    steps = torch.full((n,), t)
    assert float(family.kl(x0, x0, steps[:1]).abs()) < 1e-9
    x = family.sample(repeat(x0, n), steps)
    log_ratio = family.log_prob(x, repeat(x0, n), steps) - family.log_prob(
        x, repeat(x0_hat, n), steps
    )
    kl = float(family.kl(x0, x0_hat, steps[:1]))
    assert kl > 0
    assert float(log_ratio.mean()) == pytest.approx(kl, abs=5 * float(log_ratio.std()) / n**0.5)


def test_kl_decreases_as_noise_forgets_x0(family: StarFamily) -> None:
    """Every default schedule destroys information monotonically, with one exception that is
    the point of the Gaussian construction: its last step carries all of DDPM's remaining
    SNR_T, more than the decrement SNR_{T-1} - SNR_T the step before it adds."""
    x0 = data_point(family.name, 5, seed=6).double()
    x0_hat = data_point(family.name, 5, seed=7).double()
    t = torch.arange(STEPS + 1)
    kl = torch.stack([family.kl(x0, x0_hat, s.repeat(5)) for s in t], dim=1)
    last = STEPS if family.name == "gaussian" else STEPS + 1
    assert (kl[:, 1:last] < kl[:, : last - 1]).all()
    assert (family.prior_kl(x0) < 1e-3).all()


def test_prior_kl_matches_monte_carlo() -> None:
    """KL(q(x_T | x0) ‖ p(x_T)) for schedules that end far from the prior, so that it is
    large enough to check; p's log-densities: N(0, 1), uniform on [0, 1], (K - 1)! on the
    simplex, 1 / |S²| on the sphere."""
    torch.manual_seed(8)
    n = 40000
    cases = {
        "gaussian": ({"beta_end": 0.002}, lambda x: stats.norm.logpdf(x).sum(1)),
        "beta": ({"nu_min": 5.0}, lambda x: np.zeros(len(x))),
        "dirichlet": ({"nu_min": 5.0}, lambda x: np.full(len(x), gammaln(D))),
        "vmf": ({"kappa_min": 5.0}, lambda x: np.full(len(x), -math.log(4 * math.pi))),
    }
    for name, (params, log_prior) in cases.items():
        family = make_family(name, 10, **params)
        x0 = repeat(data_point(name, 1).double(), n)
        t = torch.full((n,), 10)
        x = family.sample(x0, t)
        log_ratio = family.log_prob(x, x0, t).numpy() - log_prior(x.numpy())
        kl = float(family.prior_kl(x0[:1]))
        assert kl > 0.05, name
        assert log_ratio.mean() == pytest.approx(kl, abs=5 * log_ratio.std() / n**0.5), name


@pytest.mark.parametrize("dim", [2, 3, 5])
@pytest.mark.parametrize("kappa", [1e-3, 0.7, 10.0, 1e3])
def test_wood_sampler_has_unit_norm_and_the_right_mean_length(dim: int, kappa: float) -> None:
    torch.manual_seed(9)
    n = 20000
    mu = torch.nn.functional.normalize(torch.randn(1, dim), dim=-1).expand(n, dim)
    x = sample_vmf(mu, torch.full((n,), kappa))
    assert torch.allclose(x.norm(dim=-1), torch.ones(n), atol=1e-5)
    cosine = (x * mu).sum(-1).double()
    expected = float(vmf_mean_length(kappa, dim))
    if dim == 3:
        assert expected == pytest.approx(1 / math.tanh(kappa) - 1 / kappa, rel=1e-6, abs=1e-9)
    assert float(cosine.mean()) == pytest.approx(expected, abs=5 * float(cosine.std()) / n**0.5)


def test_wood_sampler_is_deterministic_under_a_seed() -> None:
    mu = torch.nn.functional.normalize(torch.randn(100, 3), dim=-1)
    kappa = torch.logspace(-3, 3, 100)
    torch.manual_seed(10)
    first = sample_vmf(mu, kappa)
    torch.manual_seed(10)
    assert torch.equal(first, sample_vmf(mu, kappa))


def test_gradients_flow_through_sampling(family: StarFamily) -> None:
    """Reparameterised for all four: Gaussian by location-scale, Beta and Dirichlet by torch's
    implicit gamma gradients, vMF because x = w μ + √(1 - w²) v with w independent of μ."""
    torch.manual_seed(11)
    x0 = data_point(family.name, 64).requires_grad_(True)
    t = torch.full((64,), STEPS // 2)
    (family.sample(x0, t) * torch.randn(64, D)).sum().backward()
    assert torch.isfinite(x0.grad).all() and x0.grad.abs().sum() > 0


def ddpm_posterior_kl_weight(alpha_bar: np.ndarray, t: int) -> float:
    """DDPM's L_{t-1} = KL(q(x_{t-1} | x_t, x0) ‖ q(x_{t-1} | x_t, x̂0)) = w ‖x0 - x̂0‖²,
    from the posterior mean's x0 coefficient and the posterior variance (Ho et al. eq. 7)."""
    beta = 1 - alpha_bar[t] / alpha_bar[t - 1]
    coefficient = math.sqrt(alpha_bar[t - 1]) * beta / (1 - alpha_bar[t])
    variance = (1 - alpha_bar[t - 1]) * beta / (1 - alpha_bar[t])
    return coefficient**2 / (2 * variance)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_gaussian_kl_terms_equal_ddpm(schedule: str) -> None:
    """SS-DDPM's loss term at t - 1 equals DDPM's L_{t-1} for t ≥ 2, and its t = 0 level
    DDPM's decoder weight 1 / (2 β_1)."""
    steps = 1000
    family = GaussianFamily(steps, schedule=schedule)
    alpha_bar = ddpm_alpha_bar(steps, schedule)
    x0, x0_hat = torch.zeros(1, 1, dtype=torch.float64), torch.ones(1, 1, dtype=torch.float64)
    for t in [2, 3, 10, 100, 500, 999, 1000]:
        ours = float(family.kl(x0, x0_hat, torch.tensor([t - 1])))
        assert ours == pytest.approx(ddpm_posterior_kl_weight(alpha_bar, t), rel=1e-8)
    beta_1 = 1 - alpha_bar[1]
    assert float(family.kl(x0, x0_hat, torch.tensor([0]))) == pytest.approx(1 / (2 * beta_1))


def test_gaussian_tail_statistic_is_ddpm_x_t() -> None:
    """Rescaled tail statistics of one star-shaped path have DDPM's joint law given x0: mean
    √ᾱ_t x0, variance 1 - ᾱ_t, and Cov(x_t, x_s) = √(ᾱ_s / ᾱ_t) (1 - ᾱ_t) for s > t. Also
    the closed-form `sample_tail` agrees with the generic step-by-step one."""
    torch.manual_seed(12)
    steps, n, x0 = 10, 200000, 0.7
    family = GaussianFamily(steps, schedule="cosine")
    alpha_bar = ddpm_alpha_bar(steps, "cosine")
    x0s = torch.full((n, 1), x0, dtype=torch.float64)
    terms = [family.stat(family.sample(x0s, torch.full((n,), s)), torch.full((n,), s)) for s in range(1, steps + 1)]  # fmt: skip
    tails = torch.flip(torch.cumsum(torch.flip(torch.cat(terms, 1), [1]), 1), [1])  # G_1..G_T
    times = torch.arange(1, steps + 1).repeat(n, 1)
    ddpm = family.tail_to_ddpm(tails.reshape(-1, 1), times.reshape(-1)).reshape(n, steps)
    se = 5 / math.sqrt(n)
    for t in [1, 4, 8]:
        a = alpha_bar[t]
        assert float(ddpm[:, t - 1].mean()) == pytest.approx(math.sqrt(a) * x0, abs=se)
        assert float(ddpm[:, t - 1].var()) == pytest.approx(1 - a, abs=se * 1.5)
        s = t + 2
        cov = float(torch.cov(ddpm[:, [t - 1, s - 1]].T)[0, 1])
        assert cov == pytest.approx(math.sqrt(alpha_bar[s] / a) * (1 - a), abs=se * 1.5)
    t = torch.full((n,), 4)
    closed = family.sample_tail(x0s, t)
    generic = StarFamily.sample_tail(family, x0s, t)
    s_4 = float(family.tail_snr[4])
    for tail in (closed, generic):
        assert float(tail.mean()) == pytest.approx(s_4 * x0, abs=5 * math.sqrt(s_4 / n))
        assert float(tail.var()) == pytest.approx(s_4, rel=se * 1.5)


def test_rescaled_kls_are_the_reference_codes_simple_losses() -> None:
    """KL / kl_scale: ½‖x0 − x̂0‖² for the Gaussian, 1 − x0ᵀx̂0 for von Mises-Fisher."""
    t = torch.full((16,), 3)
    for name, simple in [
        ("gaussian", lambda a, b: 0.5 * ((a - b) ** 2).sum(-1)),
        ("vmf", lambda a, b: 1 - (a * b).sum(-1)),
    ]:
        family = make_family(name, STEPS)
        x0, x0_hat = data_point(name, 16, 0), data_point(name, 16, 1)
        rescaled = family.kl(x0, x0_hat, t) / family.kl_scale(x0, t)
        torch.testing.assert_close(rescaled, simple(x0, x0_hat), rtol=1e-5, atol=1e-6)


def test_beta_cosine_spacing_follows_the_gaussian_star_snrs() -> None:
    excess = make_family("beta", 50, nu_max=570.0, nu_min=1e-3, spacing="cosine").excess.numpy()
    snr = GaussianFamily(50, schedule="cosine").snr.numpy()
    np.testing.assert_allclose(excess, np.maximum(570.0 * snr / snr[0], 1e-3))
    assert (np.diff(excess) <= 0).all()
    with pytest.raises(ValueError, match="spacing"):
        make_family("beta", 50, spacing="linear")


def test_config_schedule_table_matches_the_families() -> None:
    """The torch-free config check knows each family's fields and defaults from a table."""
    for name, cls in FAMILIES.items():
        params = inspect.signature(cls.__init__).parameters
        defaults = {k: p.default for k, p in params.items() if k not in ("self", "steps")}
        assert defaults == FAMILY_SCHEDULES[name]
