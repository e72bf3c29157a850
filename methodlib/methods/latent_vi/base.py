"""What the latent-variable VAEs share: binarisation, the Bernoulli decoder's log-likelihood,
the prior, sampling, and the one importance-sampled evaluator of log p(x) they are all scored
by.

Binarisation: training batches are binarised afresh on every draw (dynamic binarisation, each
pixel a Bernoulli of its grey level); the test split is binarised once, with a fixed seed, so
that every run and seed is scored on the same binary images. Grey levels outside [0, 1] are
clamped first.

`test_ll` (`importance_log_likelihood`) is log (1/S) Σ_s p(x, z_s) / q̂(z_s | x) with S =
`eval_samples` draws z_s ~ q(z | x), averaged over the test images: the IWAE bound (Burda et
al. 2016) for a Gaussian encoder, whose q̂ is its density, and the doubly importance-weighted
bound of Sobolev & Vetrov (2019) for a semi-implicit one, whose log q̂ is the K-draw
estimate of log q that is an upper bound in expectation (`sivi.log_q_bounds`). Each method gives its log-weights; the
evaluator is the same for all.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.base import DataInfo, StepContext
from methodlib.methods.generative_base import GenerativeMethod, fixed_rng
from methodlib.methods.latent_vi.configs import LatentVAEConfig
from methodlib.models import MODELS

LOG_2PI = math.log(2 * math.pi)
TEST_BINARISATION_SEED = 1
EVAL_FLOATS = 4_000_000
"""Decoder outputs per chunk of the evaluator (samples × images × pixels), to bound memory."""


def gaussian_log_density(
    z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor
) -> torch.Tensor:
    """log N(z; mean, diag exp(log_var)), summed over the last axis (broadcasting)."""
    return -0.5 * (log_var + (z - mean).pow(2) * torch.exp(-log_var) + LOG_2PI).sum(-1)


def standard_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last axis."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


def log_mean_exp(x: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.logsumexp(x, dim) - math.log(x.shape[dim])


def mixture_log_density(z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log (1/K) Σ_k N(z; mean_k, diag exp(log_var_k)) of z (..., latent) for K components
    (K, latent): (...)."""
    return log_mean_exp(gaussian_log_density(z.unsqueeze(-2), mean, log_var), -1)


def binarise(x: torch.Tensor) -> torch.Tensor:
    return torch.bernoulli(x.clamp(0.0, 1.0))


def importance_log_likelihood(
    log_weights: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int
) -> float:
    """Mean over the images `x` of log (1/S) Σ_s w_s, where `log_weights(batch)` gives the
    (S, batch) log importance weights log p(x, z_s) − log q̂(z_s | x) of z_s ~ q(z | x)."""
    total = sum(
        log_mean_exp(log_weights(x[i : i + batch_size]), 0).sum().item()
        for i in range(0, len(x), batch_size)
    )
    return total / len(x)


class LatentVAE(GenerativeMethod):
    """A VAE on `vae_mlp`: subclasses give the training bound (per image, to maximise) and the
    importance log-weights of `test_ll`; the prior is N(0, I) unless a subclass says."""

    Config = LatentVAEConfig

    def __init__(self, config: LatentVAEConfig, model_name: str, info: DataInfo):
        super().__init__(config, model_name, info)
        self.test_scores: dict[str, float] = {}

    def net_options(self) -> dict:
        """Keyword arguments of `LatentVAENets`: the sizes, and the parts a subclass adds (ψ,
        τ, pseudo-inputs)."""
        return {"latent_dim": self.config.latent_dim, "hidden": self.config.hidden}

    def build_model(self) -> nn.Module:
        nets = MODELS[self.model_name]
        return nets(self.info.input_shape, self.info.n_classes, self.layers(), **self.net_options())

    def bound(self, model: nn.Module, x: torch.Tensor, kl: float = 1.0) -> torch.Tensor:
        """The lower bound on log p(x) of each binary image, shape (B,), with log p(z) −
        log q̂(z | x) weighted by `kl` (1: the bound itself; below 1 in the warm-up)."""
        raise NotImplementedError

    def log_weights(self, model: nn.Module, x: torch.Tensor, samples: int) -> torch.Tensor:
        """log p(x, z_s) − log q̂(z_s | x) for `samples` draws z_s ~ q(z | x): (samples, B)."""
        raise NotImplementedError

    def kl_weight(self, ctx: StepContext) -> float:
        """The warm-up's weight of log p(z) − log q̂(z | x) at this step: rising linearly from
        0 to 1 over the first `kl_warmup` of training, then 1."""
        warmup = self.config.kl_warmup
        return 1.0 if ctx.progress >= warmup else ctx.progress / warmup

    def scheduled_bound(self, model: nn.Module, x: torch.Tensor, ctx: StepContext) -> torch.Tensor:
        """The training bound at this step of the schedules (the warm-up; the semi-implicit
        encoders' K), shape (B,)."""
        return self.bound(model, x, self.kl_weight(ctx))

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        return -self.scheduled_bound(model, binarise(x), ctx).mean()

    def losses(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The negative bound itself (no warm-up, the final K): the validation loss."""
        return -self.bound(model, binarise(x))

    def log_likelihood(self, model: nn.Module, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x | z) of binary images x (B, ...) at z (..., B, latent): (..., B)."""
        logits, target = torch.broadcast_tensors(model.logits(z), x.flatten(1))
        return -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)

    def log_prior(self, model: nn.Module, z: torch.Tensor) -> torch.Tensor:
        return standard_log_density(z)

    def sample_prior(self, model: nn.Module, n: int, device: torch.device | str) -> torch.Tensor:
        return torch.randn(n, model.latent_dim, device=device)

    @torch.no_grad()
    def generate(self, model: nn.Module, n: int, device: torch.device | str) -> torch.Tensor:
        """Decoded means of prior draws (a Bernoulli draw would be salt-and-pepper noise)."""
        z = self.sample_prior(model, n, device)
        return self.into_domain(model.generator(z))

    @torch.no_grad()
    def reconstruct(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model(x)

    @torch.no_grad()
    def score_test(self, model: nn.Module, x_test: torch.Tensor, batch_size: int) -> None:
        x = x_test[: self.config.eval_examples]
        with fixed_rng(x.device, TEST_BINARISATION_SEED):
            x = binarise(x)
        samples = self.config.eval_samples
        chunk = max(1, min(batch_size, EVAL_FLOATS // (samples * x[0].numel())))
        with fixed_rng(x.device):
            scores = {
                "test_ll": importance_log_likelihood(
                    lambda b: self.log_weights(model, b, samples), x, chunk
                ),
                **self.bound_scores(model, x),
            }
        self.test_scores = scores

    def bound_scores(self, model: nn.Module, x: torch.Tensor) -> dict[str, float]:
        """Further test scores on the binarised test images (the semi-implicit sandwich)."""
        return {}

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        return {**super().run_metrics(model), **self.test_scores}
