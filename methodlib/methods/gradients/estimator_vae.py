"""What the VAEs of the implicit-reparameterisation study share (`dirichlet_vae`, `vmf_vae`,
`von_mises_vae`): a latent whose KL to the prior is in closed form, so that the arms of a study
differ only in the gradient estimator of the expected log-likelihood E_q log p(x | z).

A subclass gives the posterior's parameters of a batch (`posterior`), draws without gradient
(`draw`), the log density (`log_posterior`), the closed-form KL (`kl`) and the one-draw
estimate whose gradient is its estimator's (`expected_log_likelihood`). This class gives:

- the score-function estimate (REINFORCE), ∇ E_q f = E_q[(f(z) − b) ∇ log q(z | x)] with
  f = log p(x | z) and b a moving average of f over training batches (`baseline_decay`): b does
  not depend on z (only the first step's b, that batch's mean, does), so the estimator stays
  unbiased and its variance drops; the decoder's gradient is the pathwise one at the same draw;
- `seconds_per_step`: the mean CPU time (`time.process_time`, all threads: wall time on a
  shared machine measures the neighbours too) between consecutive calls of `lr_factor`, i.e.
  one training step's forward, backward and update; the last step of each epoch (which would
  include validation) is left out;
- `test_elbo`: the ELBO of the test split (binarised once with a fixed seed) with the expected
  log-likelihood averaged over `eval_samples` draws, and the log-weights of `test_ll`."""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from methodlib.methods.base import DataInfo, StepContext
from methodlib.methods.latent_vi.base import EVAL_FLOATS, LatentVAE
from methodlib.methods.latent_vi.configs import LatentVAEConfig

Params = Any
"""The posterior's parameters of a batch: a tensor or a tuple of tensors, per subclass."""


class EstimatorVAE(LatentVAE):
    def __init__(self, config: LatentVAEConfig, model_name: str, info: DataInfo):
        super().__init__(config, model_name, info)
        self.baseline: float | None = None
        self.step_seconds: list[float] = []
        self._step_start: float | None = None

    def posterior(self, model: nn.Module, x: torch.Tensor) -> Params:
        """The parameters of q(z | x) of a batch."""
        raise NotImplementedError

    def draw(self, params: Params, samples: int) -> torch.Tensor:
        """`samples` draws of z ~ q(z | x) without gradient: (samples, B, ...)."""
        raise NotImplementedError

    def log_posterior(self, z: torch.Tensor, params: Params) -> torch.Tensor:
        """log q(z | x), differentiable in the parameters: z's shape less the event axis."""
        raise NotImplementedError

    def kl(self, model: nn.Module, params: Params) -> torch.Tensor:
        """KL(q(z | x) ‖ p(z)) in closed form: (B,)."""
        raise NotImplementedError

    def expected_log_likelihood(
        self, model: nn.Module, x: torch.Tensor, params: Params
    ) -> torch.Tensor:
        """The one-draw estimate of E_q log p(x | z), (B,), whose gradient w.r.t. the
        posterior's parameters is the configured estimator's (its value is log p(x | z) of
        one draw in every arm)."""
        raise NotImplementedError

    def score_function(
        self, model: nn.Module, x: torch.Tensor, z: torch.Tensor, log_q: torch.Tensor
    ) -> torch.Tensor:
        """log p(x | z) at the draw `z` (pathwise for the decoder) plus the zero-valued
        surrogate (f − b) log q whose gradient is the score-function term; `log_q` is a
        log-probability of the draw that carries the parameters' gradient (for a rejection
        sampler, that of its accepted proposal noise: the correction term)."""
        f = self.log_likelihood(model, x, z)
        baseline = f.detach().mean().item() if self.baseline is None else self.baseline
        if model.training and torch.is_grad_enabled():
            decay = self.config.baseline_decay
            mean = f.detach().mean().item()
            self.baseline = (
                mean if self.baseline is None else decay * self.baseline + (1 - decay) * mean
            )
        surrogate = (f.detach() - baseline) * log_q.to(f.dtype)
        return f + surrogate - surrogate.detach()

    def score_function_draw(
        self, model: nn.Module, x: torch.Tensor, params: Params
    ) -> torch.Tensor:
        """The score-function estimate at a fresh draw of q(z | x)."""
        with torch.no_grad():
            z = self.draw(params, 1)[0]
        return self.score_function(model, x, z, self.log_posterior(z, params))

    def bound(self, model: nn.Module, x: torch.Tensor, kl: float = 1.0) -> torch.Tensor:
        params = self.posterior(model, x)
        return self.expected_log_likelihood(model, x, params) - kl * self.kl(model, params)

    def log_weights(self, model: nn.Module, x: torch.Tensor, samples: int) -> torch.Tensor:
        params = self.posterior(model, x)
        z = self.draw(params, samples)
        log_q = self.log_posterior(z, params)
        return self.log_likelihood(model, x, z) + self.log_prior(model, z) - log_q

    def bound_scores(self, model: nn.Module, x: torch.Tensor) -> dict[str, float]:
        samples = self.config.eval_samples
        chunk = max(1, EVAL_FLOATS // (samples * x[0].numel()))
        total = 0.0
        for i in range(0, len(x), chunk):
            b = x[i : i + chunk]
            params = self.posterior(model, b)
            ell = self.log_likelihood(model, b, self.draw(params, samples)).mean(0)
            total += (ell - self.kl(model, params)).sum().item()
        return {"test_elbo": total / len(x)}

    def lr_factor(self, ctx: StepContext) -> float | None:
        now = time.process_time()
        if ctx.step > 0 and self._step_start is not None:
            self.step_seconds.append(now - self._step_start)
        self._step_start = now
        return super().lr_factor(ctx)

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        seconds = sum(self.step_seconds) / len(self.step_seconds) if self.step_seconds else 0.0
        return {**super().run_metrics(model), "seconds_per_step": seconds}

    def state_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "step_seconds": list(self.step_seconds)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.baseline = state.get("baseline")
        self.step_seconds = list(state.get("step_seconds", []))
