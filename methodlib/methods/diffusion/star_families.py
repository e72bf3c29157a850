"""Noising distributions of Star-Shaped DDPM (Okhotin et al., NeurIPS 2023), as exponential
families.

A star-shaped process noises x0 independently at every step, q(x_{1:T} | x0) = Π_t q(x_t | x0),
so no transition or posterior has to be derived: any family with a closed-form KL will do. When
q(x_t | x0) = h(x_t) exp(η_t(x0)ᵀ T(x_t) - Ω_t(x0)) with η_t(x0) = A_t f(x0) + b_t, the tail
statistic

    G_t = Σ_{s ≥ t} A_sᵀ T(x_s)        (`stat` gives one term)

is sufficient for x0 given x_{t:T}. So the reverse model needs only G_t: a network predicts
x̂0 = net(G_t, t), and p(x_{t-1} | x_{t:T}) = q(x_{t-1} | x̂0). The loss is
Σ_t KL(q(x_{t-1} | x0) ‖ q(x_{t-1} | x̂0)) (`kl` at t - 1) plus the prior term `prior_kl`.

Sampling, as in the paper and its reference code: draw x_T from the x0-free limit p(x_T)
(`prior_sample`), set G_{T+1} = 0, and for t = T, ..., 1: G_t = G_{t+1} + stat(x_t, t),
x̂0 = net(G_t, t), x_{t-1} ~ q(x_{t-1} | x̂0) (`sample` at t - 1). The last x̂0 is the sample.

Time: t is a LongTensor of shape (B,) in 0..steps. Steps 1..steps are the process; t = 0 is one
sharper level whose only use is the last loss term KL(q(x_0 | x0) ‖ q(x_0 | x̂0)), the analogue
of DDPM's decoder term (for the Gaussian it reproduces DDPM's decoder weight 1 / (2 β_1)).

Shapes: x0 is (B, *event). Gaussian and Beta treat every trailing coordinate as independent (so
images (B, C, H, W) work as they are); Dirichlet and von Mises-Fisher act on the last dim and
treat the other trailing dims as independent points. KLs and log-densities are summed over all
trailing dims to shape (B,). Schedules are computed once in float64 and cast to the data's dtype.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from functools import cache
from typing import ClassVar

import numpy as np
import torch
from scipy.special import gammaln, ive
from torch.distributions import Beta, Dirichlet, kl_divergence

from methodlib.methods.diffusion.configs import check_falling, family_schedule


def ddpm_alpha_bar(
    steps: int,
    schedule: str = "linear",
    beta_start: float = 1e-4,
    beta_end: float = 0.02,
    cosine_s: float = 0.008,
) -> np.ndarray:
    """ᾱ_t of the Markovian DDPM for t = 0..steps (ᾱ_0 = 1), float64.

    "linear" is Ho et al.'s β schedule, given for 1000 steps and scaled by 1000 / steps so that a
    shorter process destroys the signal as completely (Nichol & Dhariwal's scaling); "cosine" is
    Nichol & Dhariwal's. β is capped at 0.999 in both, as Nichol & Dhariwal do, so ᾱ_T > 0.
    """
    if schedule == "linear":
        scale = 1000.0 / steps
        betas = np.linspace(beta_start * scale, beta_end * scale, steps)
    elif schedule == "cosine":
        u = np.arange(steps + 1) / steps
        f = np.cos((u + cosine_s) / (1 + cosine_s) * math.pi / 2) ** 2
        betas = 1.0 - f[1:] / f[:-1]
    else:
        raise ValueError(
            f"gaussian family: schedule {schedule!r} is unknown; use 'linear' or 'cosine'"
        )
    betas = np.clip(betas, 0.0, 0.999)
    return np.concatenate([[1.0], np.cumprod(1.0 - betas)])


def _geometric(name: str, high: float, low: float, steps: int, family: str) -> np.ndarray:
    """A concentration falling geometrically from `high` at t = 0 to `low` at t = steps: equal
    ratios per step spread the information about x0 evenly over log-concentration, as DDPM's
    schedules roughly do over log-SNR."""
    check_falling(name, high, low, family)
    return np.geomspace(high, low, steps + 1)


def _reduce(values: torch.Tensor) -> torch.Tensor:
    """Sum over all but the batch dim: one number per example."""
    return values.reshape(values.shape[0], -1).sum(dim=1)


class StarFamily(ABC):
    """One noising family of a star-shaped process; subclasses fill in the distribution."""

    name: ClassVar[str]
    domain: ClassVar[str]  # "real", "cube" ([0, 1]^d), "simplex" or "sphere"

    def __init__(self, steps: int) -> None:
        if steps < 1:
            raise ValueError(f"{self.name} family: steps must be at least 1, got {steps}")
        self.steps = steps

    def _coef(self, table: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """table[t] shaped (B, 1, ..., 1) to broadcast against `like`, in its dtype and device."""
        if t.dim() != 1 or t.shape[0] != like.shape[0]:
            raise ValueError(f"t must have shape ({like.shape[0]},), got {tuple(t.shape)}")
        values = table.to(like.device)[t.to(like.device)].to(like.dtype)
        return values.reshape(-1, *([1] * (like.dim() - 1)))

    @abstractmethod
    def sample(self, x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t ~ q(x_t | x0), reparameterised where the family allows it."""

    @abstractmethod
    def stat(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """A_tᵀ T(x_t): step t's term of the tail statistic G_t, shaped like x0."""

    @abstractmethod
    def kl(self, x0: torch.Tensor, x0_hat: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """KL(q(x_t | x0) ‖ q(x_t | x0_hat)), summed per example to shape (B,)."""

    @abstractmethod
    def kl_scale(self, x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The concentration that scales step t's KL, shape (B,): dividing by it gives the
        reference code's `kl_rescaled`, the analogue of DDPM's L_simple."""

    @abstractmethod
    def log_prob(self, x_t: torch.Tensor, x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log q(x_t | x0), summed per example to shape (B,)."""

    @abstractmethod
    def clamp(self, output: torch.Tensor) -> torch.Tensor:
        """Map an unconstrained network output into the domain: the network's x̂0."""

    @abstractmethod
    def prior_sample(
        self,
        shape: tuple[int, ...],
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """x_T from p(x_T), the x0-free limit of q(x_T | x0) that sampling starts from."""

    @abstractmethod
    def prior_kl(self, x0: torch.Tensor) -> torch.Tensor:
        """KL(q(x_T | x0) ‖ p(x_T)) per example, shape (B,): the ELBO's prior term."""

    def sample_tail(self, x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """G_t = Σ_{s ≥ t} stat(x_s, s) with every x_s ~ q(x_s | x0) drawn afresh: the network's
        input in training. One step at a time, so memory stays that of one batch."""
        t = t.to(x0.device)
        tail = torch.zeros_like(x0)
        for s in range(self.steps, int(t.min()) - 1, -1):
            step = torch.full_like(t, s)
            term = self.stat(self.sample(x0, step), step)
            tail = tail + term * (t <= s).reshape(-1, *([1] * (x0.dim() - 1)))
        return tail


class GaussianFamily(StarFamily):
    """q(x_t | x0) = N(√ᾱ_t x0, (1 - ᾱ_t) I), T(x) = x, A_t = √ᾱ_t / (1 - ᾱ_t).

    ᾱ_t is not DDPM's ᾱ but the star-shaped schedule the paper derives from it: with
    SNR_t = ᾱ_t / (1 - ᾱ_t), the star SNRs are the decrements SNR^DDPM_t - SNR^DDPM_{t+1}
    (and SNR^DDPM_T at t = T). Then G_t ~ N(S_t x0, S_t I) with S_t = SNR^DDPM_t, and
    `tail_to_ddpm` rescales G_t into exactly DDPM's x_t, jointly over t (the paper's
    equivalence); each KL term equals DDPM's. Plugging DDPM's ᾱ in directly would make G_t far
    less noisy than DDPM's x_t, since the star process adds up the SNR of every step.
    At t = 0, DDPM's ᾱ_0 = 1 is replaced by (1 + ᾱ_1) / 2 as in the reference code, which makes
    the star SNR_0 = 1 / β_1: DDPM's decoder weight.
    """

    name = "gaussian"
    domain = "real"

    def __init__(
        self,
        steps: int,
        schedule: str = "linear",
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        cosine_s: float = 0.008,
    ) -> None:
        super().__init__(steps)
        alpha_bar_ddpm = ddpm_alpha_bar(steps, schedule, beta_start, beta_end, cosine_s)
        self.alpha_bar_ddpm = torch.from_numpy(alpha_bar_ddpm)
        first = (1.0 + alpha_bar_ddpm[1]) / 2
        snr_ddpm = np.concatenate(
            [[first / (1 - first)], alpha_bar_ddpm[1:] / (1 - alpha_bar_ddpm[1:])]
        )
        snr = np.append(snr_ddpm[:-1] - snr_ddpm[1:], snr_ddpm[-1])
        self.snr = torch.from_numpy(snr)
        self.tail_snr = torch.from_numpy(snr_ddpm)  # S_t = Σ_{s ≥ t} snr_s
        self.alpha_bar = torch.from_numpy(snr / (1 + snr))
        self._mean = torch.from_numpy(np.sqrt(snr / (1 + snr)))
        self._std = torch.from_numpy(np.sqrt(1 / (1 + snr)))
        self._a = torch.from_numpy(np.sqrt(snr * (1 + snr)))  # √ᾱ / (1 - ᾱ)

    def sample(self, x0, t):
        noise = torch.randn_like(x0)
        return self._coef(self._mean, t, x0) * x0 + self._coef(self._std, t, x0) * noise

    def stat(self, x_t, t):
        return self._coef(self._a, t, x_t) * x_t

    def kl(self, x0, x0_hat, t):
        return 0.5 * _reduce(self._coef(self.snr, t, x0) * (x0 - x0_hat) ** 2)

    def kl_scale(self, x0, t):
        return self._coef(self.snr, t, x0).reshape(-1)

    def log_prob(self, x_t, x0, t):
        mean, std = self._coef(self._mean, t, x0), self._coef(self._std, t, x0)
        z = (x_t - mean * x0) / std
        return _reduce(-0.5 * z**2 - torch.log(std) - 0.5 * math.log(2 * math.pi))

    def clamp(self, output):
        return output

    def prior_sample(self, shape, device=None, dtype=torch.float32):
        return torch.randn(shape, device=device, dtype=dtype)

    def prior_kl(self, x0):
        t = torch.full((x0.shape[0],), self.steps, device=x0.device)
        mean, var = self._coef(self._mean, t, x0), self._coef(self._std, t, x0) ** 2
        return _reduce(0.5 * ((mean * x0) ** 2 + var - 1 - torch.log(var)))

    def sample_tail(self, x0, t):
        """Exact in one draw: G_t ~ N(S_t x0, S_t I)."""
        s = self._coef(self.tail_snr, t, x0)
        return s * x0 + s.sqrt() * torch.randn_like(x0)

    def tail_to_ddpm(self, tail: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """DDPM's x_t from the tail statistic: G_t (1 - ᾱ_t) / √ᾱ_t = G_t / √(S_t (1 + S_t)),
        distributed as DDPM's x_t given x0 (jointly over t) — also a natural input scaling."""
        s = self._coef(self.tail_snr, t, tail)
        return tail / torch.sqrt(s * (1 + s))


class BetaFamily(StarFamily):
    """Data in [0, 1]^d. q(x_t | x0) = Beta(ν_t μ_t, ν_t (1 - μ_t)), μ_t = ξ_t / 2 + (1 - ξ_t) x0,
    with the paper's coupling ξ_t = 2 / ν_t. Writing ν_t = 2 + c_t, this is
    Beta(1 + c_t x0, 1 + c_t (1 - x0)): ξ_t rises from ~0 to ~1 as the excess concentration c_t
    falls from `nu_max` to `nu_min` (geometrically, or along the cosine schedule's star SNRs:
    `spacing`), and q(x_T | x0) tends to the uniform Beta(1, 1), the prior.
    The x0-dependent natural parameter is c_t x0 on T(x) = logit(x), so A_t = c_t.
    """

    name = "beta"
    domain = "cube"

    def __init__(
        self, steps: int, nu_max: float = 1e4, nu_min: float = 1e-3, spacing: str = "geometric"
    ) -> None:
        super().__init__(steps)
        excess = _geometric("nu", nu_max, nu_min, steps, self.name)  # checks the bounds too
        if spacing == "cosine":
            # The reference code's `beta_ss_as_cosine_ddpm`: the excess concentrations follow
            # the star SNRs of Gaussian SS-DDPM with the cosine schedule, scaled to start at
            # nu_max (≈ 570 is the unscaled value for 50 steps) and floored at nu_min.
            snr = GaussianFamily(steps, schedule="cosine").snr.numpy()
            excess = np.maximum(nu_max * snr / snr[0], nu_min)
        elif spacing != "geometric":
            raise ValueError(f"beta family: spacing {spacing!r} is unknown; use geometric, cosine")
        self.excess = torch.from_numpy(excess)
        self.nu = self.excess + 2
        self.xi = 2 / self.nu

    def _dist(self, x0, t):
        c = self._coef(self.excess, t, x0)
        return Beta(1 + c * x0, 1 + c * (1 - x0))

    def sample(self, x0, t):
        return self._dist(x0, t).rsample()

    def stat(self, x_t, t):
        # float32 cannot resolve 1 - x below its eps (~1.2e-7): samples round to exactly 0 or 1
        # there, and the logit would be infinite. Clamping at that resolution on both sides keeps
        # T(x) finite and symmetric under x ↔ 1 - x.
        eps = torch.finfo(x_t.dtype).eps
        return self._coef(self.excess, t, x_t) * torch.logit(x_t, eps=eps)

    def kl(self, x0, x0_hat, t):
        return _reduce(kl_divergence(self._dist(x0, t), self._dist(x0_hat, t)))

    def kl_scale(self, x0, t):
        return self._coef(self.nu, t, x0).reshape(-1)

    def log_prob(self, x_t, x0, t):
        eps = torch.finfo(x_t.dtype).eps
        return _reduce(self._dist(x0, t).log_prob(x_t.clamp(eps, 1 - eps)))

    def clamp(self, output):
        return torch.sigmoid(output)

    def prior_sample(self, shape, device=None, dtype=torch.float32):
        return torch.rand(shape, device=device, dtype=dtype)

    def prior_kl(self, x0):
        t = torch.full((x0.shape[0],), self.steps, device=x0.device)
        uniform = Beta(torch.ones_like(x0), torch.ones_like(x0))
        return _reduce(kl_divergence(self._dist(x0, t), uniform))


class DirichletFamily(StarFamily):
    """Data on the simplex (last dim K). q(x_t | x0) = Dir(1 + ν_t x0), T(x) = log x, A_t = ν_t;
    ν_t falls geometrically from `nu_max` to `nu_min`, so q(x_T | x0) tends to the uniform
    Dir(1), the prior.
    """

    name = "dirichlet"
    domain = "simplex"

    def __init__(self, steps: int, nu_max: float = 2000.0, nu_min: float = 1e-6) -> None:
        super().__init__(steps)
        self.nu = torch.from_numpy(_geometric("nu", nu_max, nu_min, steps, self.name))

    def _dist(self, x0, t):
        return Dirichlet(1 + self._coef(self.nu, t, x0) * x0)

    def sample(self, x0, t):
        return self._dist(x0, t).rsample()

    def stat(self, x_t, t):
        # A coordinate drawn from a concentration-1 gamma can underflow to 0 in float32; the
        # smallest normal number only stops log from returning -inf and changes no other value.
        tiny = torch.finfo(x_t.dtype).tiny
        return self._coef(self.nu, t, x_t) * torch.log(x_t.clamp_min(tiny))

    def kl(self, x0, x0_hat, t):
        return _reduce(kl_divergence(self._dist(x0, t), self._dist(x0_hat, t)))

    def kl_scale(self, x0, t):
        return self._coef(self.nu, t, x0).reshape(-1)

    def log_prob(self, x_t, x0, t):
        tiny = torch.finfo(x_t.dtype).tiny
        x_t = x_t.clamp_min(tiny)
        return _reduce(self._dist(x0, t).log_prob(x_t / x_t.sum(-1, keepdim=True)))

    def clamp(self, output):
        return torch.softmax(output, dim=-1)

    def prior_sample(self, shape, device=None, dtype=torch.float32):
        gamma = -torch.log1p(-torch.rand(shape, device=device, dtype=dtype))  # Exp(1) = Gamma(1)
        return gamma / gamma.sum(-1, keepdim=True)

    def prior_kl(self, x0):
        t = torch.full((x0.shape[0],), self.steps, device=x0.device)
        return _reduce(kl_divergence(self._dist(x0, t), Dirichlet(torch.ones_like(x0))))


def vmf_mean_length(kappa: np.ndarray | float, dim: int) -> np.ndarray:
    """A_d(κ) = I_{d/2}(κ) / I_{d/2-1}(κ): the mean resultant length E[μᵀx] of vMF(μ, κ) on
    S^{d-1}. From exponentially scaled Bessel functions: I_v(κ) overflows past κ ≈ 700, ive
    does not."""
    k = np.asarray(kappa, dtype=np.float64)
    return ive(dim / 2, k) / ive(dim / 2 - 1, k)


@cache
def _vmf_constants(kappa: tuple[float, ...], dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A_d(κ) and log C_d(κ) = (d/2 - 1) log κ - (d/2) log 2π - log I_{d/2-1}(κ), float64."""
    k = np.asarray(kappa)
    v = dim / 2 - 1
    log_norm = v * np.log(k) - (dim / 2) * np.log(2 * np.pi) - (np.log(ive(v, k)) + k)
    return torch.from_numpy(vmf_mean_length(k, dim)), torch.from_numpy(log_norm)


def sample_vmf(mu: torch.Tensor, kappa: torch.Tensor, max_rounds: int = 100) -> torch.Tensor:
    """x ~ vMF(mu, kappa) for mu of shape (N, d) (unit rows) and kappa of shape (N,).

    Wood's (1994) rejection sampler draws the cosine w = μᵀx, which depends on κ only; then
    x = w μ + √(1 - w²) v with v uniform on the directions orthogonal to μ (a Gaussian with its
    μ component removed, normalised). So x is a differentiable function of μ given the draws:
    gradients reach x0. w is computed in float64 (1 - w is ~1/κ). Draws come from torch's
    global generator, so a seed fixes them. Proposals are drawn for every row each round, and
    rows stop updating once accepted; Wood's acceptance rate is high for all κ, so after
    `max_rounds` rounds a row still unaccepted is vanishingly rare, and it keeps its last
    proposal rather than looping on.
    """
    n, dim = mu.shape
    k = kappa.to(device=mu.device, dtype=torch.float64)
    m1 = dim - 1.0
    b = m1 / (2 * k + torch.sqrt(4 * k**2 + m1**2))  # Wood's b, in the form that does not cancel
    x = (1 - b) / (1 + b)
    c = k * x + m1 * torch.log1p(-(x**2))
    half = torch.full((n,), m1 / 2, dtype=torch.float64, device=mu.device)
    proposal_z = Beta(half, half)
    w = torch.zeros(n, dtype=torch.float64, device=mu.device)
    done = torch.zeros(n, dtype=torch.bool, device=mu.device)
    for _ in range(max_rounds):
        z = proposal_z.sample()
        u = torch.rand(n, dtype=torch.float64, device=mu.device)
        proposal = (1 - (1 + b) * z) / (1 - (1 - b) * z)
        accept = k * proposal + m1 * torch.log1p(-x * proposal) - c >= torch.log(u)
        w = torch.where(accept & ~done, proposal, w)
        done = done | accept
        if bool(done.all()):
            break
    w = torch.where(done, w, proposal).to(mu.dtype).unsqueeze(-1)
    # Projecting twice: when the noise is nearly parallel to μ (likely in low d) one
    # projection leaves a rounding residue along μ comparable to what remains orthogonal.
    v = torch.randn_like(mu)
    for _ in range(2):
        v = v - (v * mu).sum(-1, keepdim=True) * mu
    v = v / v.norm(dim=-1, keepdim=True)
    x = w * mu + torch.sqrt((1 - w**2).clamp_min(0)) * v
    return x / x.norm(dim=-1, keepdim=True)  # unit in the working dtype even if μ is a hair off


class VonMisesFisherFamily(StarFamily):
    """Data on the unit sphere S^{d-1} (last dim d). q(x_t | x0) = vMF(x0, κ_t), T(x) = x,
    A_t = κ_t; κ_t falls geometrically from `kappa_max` to `kappa_min`, so q(x_T | x0) tends to
    the uniform distribution on the sphere, the prior. KL(vMF(μ0, κ) ‖ vMF(μ1, κ)) =
    κ A_d(κ) (1 - μ0ᵀμ1) in closed form; the Bessel ratios are precomputed per dimension.
    """

    name = "vmf"
    domain = "sphere"

    def __init__(
        self, steps: int, kappa_max: float = 1e3, kappa_min: float = 1e-3, max_rounds: int = 100
    ) -> None:
        super().__init__(steps)
        self.kappa = torch.from_numpy(_geometric("kappa", kappa_max, kappa_min, steps, self.name))
        self.max_rounds = max_rounds

    def _constants(self, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        return _vmf_constants(tuple(self.kappa.tolist()), dim)

    def sample(self, x0, t):
        kappa = self._coef(self.kappa, t, x0).expand(*x0.shape[:-1], 1)
        flat = sample_vmf(x0.reshape(-1, x0.shape[-1]), kappa.reshape(-1), self.max_rounds)
        return flat.reshape(x0.shape)

    def stat(self, x_t, t):
        return self._coef(self.kappa, t, x_t) * x_t

    def kl(self, x0, x0_hat, t):
        mean_length, _ = self._constants(x0.shape[-1])
        weight = self._coef(self.kappa * mean_length, t, x0).squeeze(-1)
        # μ0ᵀ(μ0 - μ1) rather than 1 - μ0ᵀμ1: equal on the sphere, but exactly 0 when
        # x0_hat = x0 even if rounding left x0 a hair off unit norm (κ A_d(κ) reaches ~10³).
        return _reduce(weight * (x0 * (x0 - x0_hat)).sum(-1))

    def kl_scale(self, x0, t):
        mean_length, _ = self._constants(x0.shape[-1])
        return self._coef(self.kappa * mean_length, t, x0).reshape(-1)

    def log_prob(self, x_t, x0, t):
        _, log_norm = self._constants(x0.shape[-1])
        kappa = self._coef(self.kappa, t, x0).squeeze(-1)
        return _reduce(self._coef(log_norm, t, x0).squeeze(-1) + kappa * (x0 * x_t).sum(-1))

    def clamp(self, output):
        return torch.nn.functional.normalize(output, dim=-1)

    def prior_sample(self, shape, device=None, dtype=torch.float32):
        return torch.nn.functional.normalize(torch.randn(shape, device=device, dtype=dtype), dim=-1)

    def prior_kl(self, x0):
        """Rotation-invariant, so the same for every x0: log C_d(κ_T) + κ_T A_d(κ_T) + log|S^{d-1}|."""
        dim = x0.shape[-1]
        mean_length, log_norm = self._constants(dim)
        kappa = float(self.kappa[-1])
        log_area = math.log(2) + (dim / 2) * math.log(math.pi) - float(gammaln(dim / 2))
        per_point = float(log_norm[-1]) + kappa * float(mean_length[-1]) + log_area
        points = x0[..., 0].numel() // x0.shape[0]
        return torch.full((x0.shape[0],), per_point * points, dtype=x0.dtype, device=x0.device)


FAMILIES: dict[str, type[StarFamily]] = {
    cls.name: cls for cls in (GaussianFamily, BetaFamily, DirichletFamily, VonMisesFisherFamily)
}


def make_family(name: str, steps: int, **params) -> StarFamily:
    """The family `name` over `steps` steps, its schedule fields taken from `params` (checked
    as the config checks them: `family_schedule`)."""
    family_schedule(name, params)
    return FAMILIES[name](steps, **params)
