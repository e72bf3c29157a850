"""What the Bayesian pruning methods (`sparse_vd`, `vd_ard`, `sbp`) share: variational linear
and convolutional layers with a per-weight log σ², the log-normal multiplicative noise layer of
structured Bayesian pruning, their KL terms, and a `ClassifierMethod` base that trains any of
them with the objective NLL + β·KL/N (β warmed up linearly from 0).

After training each layer exposes the network a pruned run is evaluated as: variational layers
give `pruned_weight()` (mean weights, zero where log α ≥ threshold) and noise layers give
`unit_multiplier()` (E[θ], zero where SNR ≤ threshold). `methodlib.metrics.pruning` reads those
two hooks to count what is left and to build the physically smaller network.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.errors import RunError
from methodlib.methods.base import ClassifierMethod, StepContext
from methodlib.methods.pruning.configs import VariationalConfig
from methodlib.metrics.pruning import layer_names, pruning_metrics, weight_layers

LOG_ALPHA_CLIP = 8.0
"""log α is clipped to [−8, 8], in the KL and in the noise alike (sparse VD paper)."""

# Sparse VD's fit of −KL(q ‖ log-uniform) + const as a function of log α (Molchanov et al. 2017).
K1, K2, K3 = 0.63576, 1.87320, 1.48695


def kl_sparse_vd(log_alpha: torch.Tensor) -> torch.Tensor:
    """Per-weight KL to the log-uniform prior, up to a constant that makes it vanish as α → ∞:
    KL ≈ k1 − k1·σ(k2 + k3·log α) + ½·log(1 + 1/α)."""
    return K1 - K1 * torch.sigmoid(K2 + K3 * log_alpha) + 0.5 * F.softplus(-log_alpha)


def kl_ard(log_alpha: torch.Tensor) -> torch.Tensor:
    """Per-weight KL(N(θ, σ²) ‖ N(0, τ²)) at the empirical-Bayes optimum τ² = θ² + σ²:
    ½·log(1 + 1/α) (Kharitonov et al. 2018)."""
    return 0.5 * F.softplus(-log_alpha)


class _Variational:
    """Mixed into nn.Linear / nn.Conv2d: `weight` is the posterior mean θ and `log_sigma2` its
    log variance. Keeping the dense layer's parameter names lets a dense checkpoint initialise
    these layers, and lets FLOPs counting treat them as the layer they replace."""

    variational_parameters: ClassVar[tuple[str, ...]] = ("log_sigma2",)
    weight: nn.Parameter
    bias: nn.Parameter | None

    def _init_variational(self, log_sigma2_init: float, threshold: float) -> None:
        self.log_sigma2 = nn.Parameter(torch.full_like(self.weight, log_sigma2_init))
        self.threshold = threshold

    def _op(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None):
        raise NotImplementedError

    @property
    def log_alpha(self) -> torch.Tensor:
        log_alpha = self.log_sigma2 - torch.log(self.weight.square() + 1e-16)
        return log_alpha.clamp(-LOG_ALPHA_CLIP, LOG_ALPHA_CLIP)

    def pruned_weight(self) -> torch.Tensor:
        return self.weight * (self.log_alpha < self.threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self._op(x, self.pruned_weight(), self.bias)
        # Local reparameterisation: sample pre-activations, whose noise is independent per
        # example, instead of one weight matrix per batch (lower gradient variance).
        mean = self._op(x, self.weight, self.bias)
        var = self._op(x.square(), self.log_alpha.exp() * self.weight.square(), None)
        return mean + (var + 1e-8).sqrt() * torch.randn_like(mean)


class VariationalLinear(_Variational, nn.Linear):
    def __init__(self, n_in: int, n_out: int, log_sigma2_init: float, threshold: float):
        nn.Linear.__init__(self, n_in, n_out)
        self._init_variational(log_sigma2_init, threshold)

    def _op(self, x, weight, bias):
        return F.linear(x, weight, bias)


class VariationalConv2d(_Variational, nn.Conv2d):
    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        padding: int,
        log_sigma2_init: float,
        threshold: float,
    ):
        nn.Conv2d.__init__(self, c_in, c_out, kernel, padding=padding)
        self._init_variational(log_sigma2_init, threshold)

    def _op(self, x, weight, bias):
        return self._conv_forward(x, weight, bias)


# Truncated log-normal noise (SBP). log θ ~ N(μ, σ²) truncated to [a, b]; the prior is
# log-uniform on [e^a, e^b], i.e. uniform on [a, b] for log θ. Computed in float64 from the
# standard normal's log-CDF so that nothing cancels when the interval lies in one tail.


def log_ndtr_diff(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """log(Φ(hi) − Φ(lo)) for lo < hi, accurate in either tail."""
    upper = lo > 0  # Φ(hi) − Φ(lo) = Φ(−lo) − Φ(−hi): move the interval to the lower tail
    lo, hi = torch.where(upper, -hi, lo), torch.where(upper, -lo, hi)
    log_hi = torch.special.log_ndtr(hi)
    d = (torch.special.log_ndtr(lo) - log_hi).clamp(max=-1e-12)
    return log_hi + torch.where(d > -math.log(2), torch.log(-torch.expm1(d)), torch.log1p(-d.exp()))


def _standardised(mu: torch.Tensor, sigma: torch.Tensor, a: float, b: float):
    return (a - mu) / sigma, (b - mu) / sigma


def _log_std_normal_pdf(t: torch.Tensor) -> torch.Tensor:
    return -0.5 * t.square() - 0.5 * math.log(2 * math.pi)


def truncated_kl(mu: torch.Tensor, sigma: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """KL(q ‖ p) for log θ ~ q = N(μ, σ²) truncated to [a, b] and p = uniform on [a, b]:
    log(b − a) − H(q), with the truncated normal's entropy in closed form."""
    alpha, beta = _standardised(mu, sigma, a, b)
    log_z = log_ndtr_diff(alpha, beta)
    tails = alpha * (_log_std_normal_pdf(alpha) - log_z).exp()
    tails = tails - beta * (_log_std_normal_pdf(beta) - log_z).exp()
    entropy = 0.5 * math.log(2 * math.pi * math.e) + sigma.log() + log_z + 0.5 * tails
    return math.log(b - a) - entropy


def truncated_moments(
    mu: torch.Tensor, sigma: torch.Tensor, a: float, b: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """E[θ] and the signal-to-noise ratio E[θ]/√Var[θ] of θ = exp(log θ).

    E[θ^k] = exp(kμ + k²σ²/2)·(Φ(β − kσ) − Φ(α − kσ))/Z; the SNR depends on E[θ²]/E[θ]² only,
    where μ cancels, so it is computed from that ratio in log space."""
    alpha, beta = _standardised(mu, sigma, a, b)
    log_z = log_ndtr_diff(alpha, beta)
    log_first = log_ndtr_diff(alpha - sigma, beta - sigma)
    mean = (mu + 0.5 * sigma.square() + log_first - log_z).exp()
    log_ratio = sigma.square() + log_ndtr_diff(alpha - 2 * sigma, beta - 2 * sigma) + log_z
    log_ratio = (log_ratio - 2 * log_first).clamp(min=1e-300)  # ≥ 0 by Jensen
    return mean, torch.expm1(log_ratio).rsqrt()


def sample_truncated_normal(
    mu: torch.Tensor, sigma: torch.Tensor, a: float, b: float, shape: torch.Size
) -> torch.Tensor:
    """Reparameterised draws of N(μ, σ²) truncated to [a, b] by the inverse CDF, taken in the
    lower tail (mirrored when most mass is in the upper one) where Φ has precision."""
    alpha, beta = _standardised(mu, sigma, a, b)
    mirror = alpha + beta > 0
    lo, hi = torch.where(mirror, -beta, alpha), torch.where(mirror, -alpha, beta)
    cdf_lo, cdf_hi = torch.special.ndtr(lo), torch.special.ndtr(hi)
    u = torch.rand(shape, dtype=mu.dtype, device=mu.device)
    p = (cdf_lo + u * (cdf_hi - cdf_lo)).clamp(1e-300, 1 - 1e-16)
    z = torch.maximum(torch.minimum(torch.special.ndtri(p), hi), lo)
    return mu + sigma * torch.where(mirror, -z, z)


class LogNormalNoise(nn.Module):
    """SBP's dropout-like layer: multiplies each neuron or channel by its own noise θ.

    Training draws θ per example; evaluation uses E[θ], zero for groups with SNR ≤ threshold.
    """

    variational_parameters: ClassVar[tuple[str, ...]] = ("mu", "log_sigma")

    def __init__(
        self,
        kind: str,
        units: int,
        a: float,
        b: float,
        snr_threshold: float,
        mu_init: float,
        log_sigma_init: float,
    ):
        super().__init__()
        self.kind, self.a, self.b, self.snr_threshold = kind, a, b, snr_threshold
        self.mu = nn.Parameter(torch.full((units,), mu_init))
        self.log_sigma = nn.Parameter(torch.full((units,), log_sigma_init))

    def _posterior(self) -> tuple[torch.Tensor, torch.Tensor]:
        # μ far outside [a, b] only moves the mass to an end; bounding it keeps E[θ] finite.
        mu = self.mu.double().clamp(self.a, self.b + 5.0)
        return mu, self.log_sigma.double().clamp(-20.0, 5.0).exp()

    def kl(self) -> torch.Tensor:
        return truncated_kl(*self._posterior(), self.a, self.b).sum().float()

    def moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        mean, snr = truncated_moments(*self._posterior(), self.a, self.b)
        return mean.float(), snr.float()

    def unit_multiplier(self) -> torch.Tensor:
        mean, snr = self.moments()
        return mean * (snr > self.snr_threshold)

    def _per_unit(self, values: torch.Tensor) -> torch.Tensor:
        return values.view(*values.shape, 1, 1) if self.kind == "conv" else values

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x * self._per_unit(self.unit_multiplier())
        mu, sigma = self._posterior()
        log_theta = sample_truncated_normal(mu, sigma, self.a, self.b, (len(x), len(mu)))
        return x * self._per_unit(log_theta.exp().to(x.dtype))


class VariationalMethod(ClassifierMethod):
    """Training, evaluation and pruning metrics shared by sparse_vd, vd_ard and sbp."""

    config: VariationalConfig

    def kl(self, model: nn.Module) -> torch.Tensor:
        """Sum of the KL terms of the model's variational modules."""
        raise NotImplementedError

    def unit_statistics(self, model: nn.Module) -> dict[str, tuple[torch.Tensor, float, str]]:
        """Per layer: the statistic pruning thresholds (log α per weight, log10 SNR per unit),
        the threshold on it, and its name, for the report's histograms."""
        raise NotImplementedError

    def param_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        variational = _variational_names(model)
        named = list(model.named_parameters())
        return [
            {"params": [p for n, p in named if n not in variational]},
            {
                "params": [p for n, p in named if n in variational],
                "lr_scale": self.config.variational_lr_scale,
            },
        ]

    def beta(self, ctx: StepContext) -> float:
        warmup = self.config.kl_warmup
        ramp = 1.0 if warmup == 0 else min(1.0, ctx.progress / warmup)
        return self.config.kl_weight * ramp

    def loss(self, model, x, y, ctx: StepContext) -> torch.Tensor:
        # The per-example form of N/B·NLL + β·KL: the same optimum, Adam-friendly step sizes.
        nll = F.cross_entropy(model(x), y)
        return nll + self.beta(ctx) * self.kl(model) / ctx.n_train

    @torch.no_grad()
    def epoch_metrics(self, model: nn.Module) -> dict[str, float]:
        summary = pruning_metrics(model, self.info.input_shape, timed=False)
        return {
            "kl_per_example": self.kl(model).item() / self.info.n_train,
            "compression": summary["compression"],
        }

    @torch.no_grad()
    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        return pruning_metrics(model, self.info.input_shape)

    def init_from(self, model: nn.Module, weights: dict[str, torch.Tensor]) -> None:
        """Load a dense (or same-method) checkpoint: the variational parameters it lacks keep
        their initial values; anything else missing or unexpected is an error."""
        try:
            result = model.load_state_dict(weights, strict=False)
        except RuntimeError as exc:  # same names, other shapes (another dataset's input size)
            raise RunError(f"init_from: the checkpoint does not fit this model: {exc}") from None
        variational = _variational_names(model)
        missing = [k for k in result.missing_keys if k not in variational]
        if missing or result.unexpected_keys:
            raise RunError(
                f"init_from: the checkpoint does not fit this {self.model_name} "
                f"(missing {missing}, unexpected {result.unexpected_keys}); initialise from an "
                "experiment with the same model"
            )


def _variational_names(model: nn.Module) -> set[str]:
    """Names of the parameters a dense network of the same architecture does not have."""
    return {
        f"{prefix}.{param}" if prefix else param
        for prefix, module in model.named_modules()
        for param in getattr(module, "variational_parameters", ())
    }


def named_weight_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The model's linear and conv layers by report name (conv1, fc1, ...)."""
    layers = weight_layers(model)
    return dict(zip(layer_names(layers), layers, strict=True))
