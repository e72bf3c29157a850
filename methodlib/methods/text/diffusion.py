"""Gaussian diffusion over sequences of token latents: what `tencdm` (latents = a frozen
encoder's encodings) and `embedding_diffusion` (latents = trainable token embeddings) share.

Forward process in continuous time t ∈ [0, 1]: z_t = α_t z_0 + σ_t ε, σ_t = √(1 − α_t²), with
the tan-d schedule of TEncDM, α_t = 1/√(1 + d²·tan²(πt/2)) (d = 9 by default; `cosine` is d = 1,
α_t = cos(πt/2)). A larger d puts more of [0, 1] at low signal-to-noise ratios: encodings are
contextual, so their noisy versions stay easy to denoise for longer than embeddings.

Training, per example (as the reference implementation does):
- t ~ U[10⁻⁵, 1]; the denoiser (`models.transformer.Denoiser`) predicts z_0 from (z_t, t) and
  the loss is the squared error averaged over every position, padding included: padding
  positions have a latent of their own (zero for encodings, the [PAD] embedding otherwise), so
  generating them is how the model generates length;
- self-conditioning (Chen et al. 2023) with probability 0.5 per batch: a first pass without
  gradient gives ẑ_0 at the same (z_t, t), which the second pass reads as an extra input (added
  before every block); otherwise that input is zero;
- the decoder (latents → token logits) is trained in the same step with cross-entropy on
  latents corrupted by the forward process at t ~ U[0, `decoder_t_max`] (0.15 as in the
  reference), so it tolerates the residual error of generated latents. The reference takes it
  at every position; here at `decoder_positions` random positions per row (all positions stay
  its context), an unbiased estimate at a fraction of the cost of a 10k-token softmax.

Sampling, as the reference's Euler solver: `sampling_steps` Euler(–Maruyama) steps of the
reverse-time SDE dz = [−½β_t z − β_t ∇log p_t(z)] dt + √β_t dw̄ (`sampler: sde`) or of the
probability-flow ODE dz = [−½β_t z − ½β_t ∇log p_t(z)] dt (`ode`), from t = 1 to t = 0.01 on a
uniform grid, where β_t = −d log α_t²/dt = π d² tan(πt/2) / (cos² + d² sin²)(πt/2), evaluated at
min(t, 0.95) as the reference does (it is infinite at t = 1), and the score is
−(z_t − α_t ẑ_0)/σ_t². `sampler: ddpm` instead draws z_s from the forward process's
posterior q(z_s | z_t, z_0 = ẑ_0), which has no discretisation error of its own. With the exact
denoiser of Gaussian data, Euler–Maruyama at 50 steps under-disperses by about a quarter and at
10 steps collapses onto the mean; at 200 steps all three samplers come within about 10 % of
the data's spread (tests/methods/text/test_tencdm.py). On the trained CPU models neither other
sampler improved the texts (closing note of #6). Self-conditioning feeds each step the
previous step's ẑ_0. The last step's mean goes to the decoder; its arg max gives the tokens.
The denoiser used for sampling is an exponential moving average of its weights (`ema_decay`,
with the usual warm-up min(decay, (1 + n)/(10 + n)) after n updates, so that short CPU runs
average over their own length rather than a 10⁴-step window).

The training log's validation columns are `val_loss` and its two terms, `val_mse` (the
denoiser's) and `val_decoder_ce` (the decoder's; they train disjoint parameters). Metrics of the
finished run: the decoder's reconstruction accuracy on the validation texts'
word tokens from clean latents (`decoder_acc_clean`) and from latents noised at t = 0.05, 0.1,
0.15, 0.2, 0.3 (`decoder_acc_t_005` ...: t·100 in three digits); the mean norm of clean latents
(`x0_norm_data`) and of the denoiser's ẑ_0 at ten steps of the main sampler
(`x0_norm_step_001` ...: the 1-based step), the TEncDM paper's view of what self-conditioning
changes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from methodlib.methods.base import CLS, PAD, SEP, DataInfo, EpochContext, StepContext
from methodlib.methods.generative_base import fixed_rng
from methodlib.methods.text.base import TextMethod
from methodlib.methods.text.configs import TextDiffusionConfig
from methodlib.models.transformer import Denoiser

T_MIN = 1e-5  # training times t ~ U[T_MIN, 1]
T_END = 0.01  # the sampler's last time
BETA_T_MAX = 0.95  # β_t is evaluated at min(t, BETA_T_MAX)
DECODER_EVAL_T = (0.05, 0.1, 0.15, 0.2, 0.3)
NORM_POINTS = 10  # sampler steps at which the norm of ẑ_0 is reported


def schedule_d(config: TextDiffusionConfig) -> float:
    return 1.0 if config.schedule == "cosine" else config.d


def alpha_sigma(t: torch.Tensor, d: float) -> tuple[torch.Tensor, torch.Tensor]:
    """α_t = 1/√(1 + d² tan²(πt/2)) and σ_t = √(1 − α_t²), written with sin and cos so that
    t = 1 gives α = 0, σ = 1 exactly."""
    angle = math.pi * t.double() / 2
    cos, sin = angle.cos().clamp_min(0.0), angle.sin()
    norm = (cos.square() + (d * sin).square()).sqrt()
    return (cos / norm).to(t.dtype), (d * sin / norm).to(t.dtype)


def beta(t: torch.Tensor, d: float) -> torch.Tensor:
    """β_t = −d log α_t²/dt = π d² tan(πt/2) / (cos²(πt/2) + d² sin²(πt/2)), at min(t, 0.95)."""
    angle = math.pi * t.double().clamp(max=BETA_T_MAX) / 2
    cos, sin = angle.cos(), angle.sin()
    return (math.pi * d**2 * sin / cos / (cos.square() + (d * sin).square())).to(t.dtype)


class EMA:
    """An exponential moving average of a module's parameters, with warm-up."""

    def __init__(self, decay: float):
        self.decay = decay
        self.weights: dict[str, torch.Tensor] | None = None
        self.updates = 0

    def update(self, module: nn.Module) -> None:
        params = {name: p.detach() for name, p in module.named_parameters()}
        if self.weights is None:
            self.weights = {name: p.clone() for name, p in params.items()}
            return
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, p in params.items():
            self.weights[name] = self.weights[name].to(p.device).lerp_(p, 1 - decay)
        self.updates += 1


class TextDiffusion(TextMethod):
    """Diffusion over (B, L, D) latents of token rows; subclasses say what the latents are
    (`clean_latents`) and how latents become token logits (`decoder_logits`)."""

    def __init__(self, config: TextDiffusionConfig, model_name: str, info: DataInfo):
        super().__init__(config, model_name, info)
        self.d = schedule_d(config)
        self.ema = EMA(config.ema_decay)
        self.ema_pending = False  # an optimizer step has happened since the last EMA update
        self.final_metrics: dict[str, float] = {}
        self.norm_sums: torch.Tensor | None = None  # Σ over drawn rows of ‖ẑ_0‖ per step
        self.norm_rows = 0

    @property
    def latent_dim(self) -> int:
        raise NotImplementedError

    def clean_latents(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """z_0 (B, L, D) of rows of compact ids (B, L)."""
        raise NotImplementedError

    def decoder_logits(
        self, model: nn.Module, z: torch.Tensor, positions: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Token logits (B, L, V) of latents (B, L, D), or (B, K, V) at (B, K) `positions`."""
        raise NotImplementedError

    def denoiser(self) -> Denoiser:
        return Denoiser(
            self.size,
            self.latent_dim,
            self.text.max_len,
            self.config.self_conditioning,
            self.config.dropout,
        )

    def noised(self, z0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        alpha, sigma = alpha_sigma(t, self.d)
        return alpha[:, None, None] * z0 + sigma[:, None, None] * eps

    def losses(self, model: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.loss_terms(model, x, lengths)["loss"]

    def loss_terms(
        self, model: nn.Module, x: torch.Tensor, lengths: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The denoiser's squared error (`mse`), the decoder's cross-entropy (`decoder_ce`; the
        two train disjoint parameters) and their sum (`loss`), per row."""
        z0 = self.clean_latents(model, x)
        t = T_MIN + (1 - T_MIN) * torch.rand(len(x), device=x.device)
        z_t = self.noised(z0, t, torch.randn_like(z0))
        estimate = None
        if self.config.self_conditioning and torch.rand(()) < 0.5:
            with torch.no_grad():
                estimate = model.denoiser(z_t, t)
        mse = (model.denoiser(z_t, t, estimate) - z0).square().mean(dim=(1, 2))
        t_dec = self.config.decoder_t_max * torch.rand(len(x), device=x.device)
        z_dec = self.noised(z0, t_dec, torch.randn_like(z0))
        positions, targets = None, x
        if self.config.decoder_positions < x.shape[1]:
            order = torch.rand(x.shape, device=x.device).argsort(dim=1)
            positions = order[:, : self.config.decoder_positions]
            targets = x.gather(1, positions)
        logits = self.decoder_logits(model, z_dec, positions)
        ce = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").mean(dim=1)
        return {"loss": mse + ce, "mse": mse, "decoder_ce": ce}

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        self._ema_catch_up(model)
        value = super().loss(model, x, y, ctx)
        self.ema_pending = True  # the optimizer steps after this
        return value

    def _ema_catch_up(self, model: nn.Module) -> None:
        """Fold in the weights of the last optimizer step (the loop has no after-step hook: the
        next `loss` call or the end of the epoch does it)."""
        if self.ema.weights is None or self.ema_pending:
            self.ema.update(model.denoiser)
        self.ema_pending = False

    def _denoise(self, model: nn.Module, z_t, t, estimate) -> torch.Tensor:
        if self.ema.weights is None:
            return model.denoiser(z_t, t, estimate)
        device = z_t.device
        weights = {name: w.to(device) for name, w in self.ema.weights.items()}
        return functional_call(model.denoiser, weights, (z_t, t, estimate))

    @torch.no_grad()
    def sample_latents(
        self, model: nn.Module, n: int, device, steps: int, record: bool = False
    ) -> torch.Tensor:
        """Latents (n, L, D) from `steps` Euler steps (see the module docstring); `record`
        adds the norms of ẑ_0 along the way to the run's metrics."""
        z = torch.randn(n, self.text.max_len, self.latent_dim, device=device)
        times = torch.linspace(1.0, T_END, steps + 1, device=device)
        estimate = None
        norms = torch.zeros(steps, device=device)
        for k in range(steps):
            t = times[k].expand(n)
            x0 = self._denoise(model, z, t, estimate)
            mean, std = self._reverse_step(z, x0, t, times[k + 1].expand(n))
            z = mean if std is None else mean + std * torch.randn_like(z)
            estimate = x0 if self.config.self_conditioning else None
            norms[k] = x0.norm(dim=-1).mean(dim=1).sum()
        if record:
            self.norm_sums = norms.cpu() + (0 if self.norm_sums is None else self.norm_sums)
            self.norm_rows += n
        return mean

    def _reverse_step(
        self, z: torch.Tensor, x0: torch.Tensor, t: torch.Tensor, s: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Mean and standard deviation (None: deterministic) of z_s given z_t and the
        denoiser's ẑ_0, for s < t, by the configured sampler."""
        alpha, sigma = (v[:, None, None] for v in alpha_sigma(t, self.d))
        if self.config.sampler == "ddpm":
            # q(z_s | z_t, z_0 = ẑ_0): exact for the Gaussian forward process at any step size
            alpha_s, sigma_s = (v[:, None, None] for v in alpha_sigma(s, self.d))
            alpha_ts = alpha / alpha_s
            var_ts = (sigma.square() - alpha_ts.square() * sigma_s.square()).clamp_min(0.0)
            mean = (alpha_ts * sigma_s.square() * z + alpha_s * var_ts * x0) / sigma.square()
            return mean, (var_ts * sigma_s.square() / sigma.square()).sqrt()
        b = beta(t, self.d)[:, None, None]
        score = -(z - alpha * x0) / sigma.square()
        ode = self.config.sampler == "ode"
        dt = (s - t)[:, None, None]
        mean = z + (-0.5 * b * z - (0.5 if ode else 1.0) * b * score) * dt
        return mean, None if ode else (b * -dt).sqrt()

    @torch.no_grad()
    def tokens(self, model: nn.Module, z: torch.Tensor) -> torch.Tensor:
        ids = self.decoder_logits(model, z).argmax(dim=-1)
        ids[:, 0] = CLS
        return ids

    @torch.no_grad()
    def generate(self, model: nn.Module, n: int, device) -> torch.Tensor:
        z = self.sample_latents(model, n, device, self.config.sampling_steps, record=True)
        return self.tokens(model, z)

    @torch.no_grad()
    def extra_samples(self, model: nn.Module, n: int, device) -> dict[str, torch.Tensor]:
        return {
            f"steps_{k}": self.tokens(model, self.sample_latents(model, n, device, k))
            for k in self.config.steps_curve
            if k != self.config.sampling_steps
        }

    def main_set_keys(self) -> tuple[str, ...]:
        """The point of `steps_curve` at `sampling_steps` is the main set itself: drawing it
        again would cost a full sampling pass for a second draw of the same distribution."""
        steps = self.config.sampling_steps
        return (f"steps_{steps}",) if steps in self.config.steps_curve else ()

    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        self._ema_catch_up(model)
        if ctx.last:
            self.final_metrics = self.decoder_metrics(model, ctx.x_val, ctx.batch_size)

    @torch.no_grad()
    def decoder_metrics(
        self, model: nn.Module, x: torch.Tensor, batch_size: int
    ) -> dict[str, float]:
        """Reconstruction accuracy of the word tokens of `x` from clean and noised latents,
        and the mean norm of the clean latents (on a fixed draw of the noise)."""
        training = model.training
        model.eval()
        levels = {"clean": 0.0, **{f"t_{round(100 * t):03d}": t for t in DECODER_EVAL_T}}
        correct = dict.fromkeys(levels, 0.0)
        words, norm = 0, 0.0
        with fixed_rng(x.device):
            for i in range(0, len(x), batch_size):
                batch = x[i : i + batch_size]
                z0 = self.clean_latents(model, batch)
                word = (batch != PAD) & (batch != CLS) & (batch != SEP)
                words += int(word.sum())
                norm += z0.norm(dim=-1).mean(dim=1).sum().item()
                for key, t in levels.items():
                    times = torch.full((len(batch),), t, device=x.device)
                    z = z0 if t == 0 else self.noised(z0, times, torch.randn_like(z0))
                    hits = self.decoder_logits(model, z).argmax(dim=-1) == batch
                    correct[key] += (hits & word).sum().item()
        model.train(training)
        metrics = {f"decoder_acc_{key}": hits / max(words, 1) for key, hits in correct.items()}
        return {**metrics, "x0_norm_data": norm / len(x)}

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        metrics = dict(self.final_metrics)
        if self.norm_sums is not None:
            steps = len(self.norm_sums)
            points = np.unique(np.linspace(1, steps, min(NORM_POINTS, steps)).round().astype(int))
            for k in points:
                metrics[f"x0_norm_step_{k:03d}"] = self.norm_sums[k - 1].item() / self.norm_rows
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {
            "ema": self.ema.weights,
            "ema_updates": self.ema.updates,
            "final_metrics": self.final_metrics,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.ema.weights = state["ema"]
        self.ema.updates = state["ema_updates"]
        self.final_metrics = dict(state["final_metrics"])
        self.ema_pending = False
