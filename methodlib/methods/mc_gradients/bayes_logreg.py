"""Bayesian logistic regression trained by stochastic ELBO ascent, the gradient of the expected
log-likelihood given by one of the survey's estimators (Mohamed et al. 2020, section 8.3;
reference: google-deepmind/mc_gradients, `bayes_lr.py` and `main.py`).

q(w) = N(μ, diag σ²) over the weights of a linear softmax classifier (`MeanFieldLinear`),
prior N(0, I). A batch's loss is −ELBO per training example: the expected negative
log-likelihood of the batch, whose gradient the estimator gives, plus the KL to the prior in
closed form (the reference's `use_analytical_kl`), differentiated exactly. Every estimator sees
the same cost and the same samples budget, so the runs differ only in the estimator."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.base import Method, StepContext
from methodlib.methods.mc_gradients.configs import MCGradientVIConfig
from methodlib.methods.mc_gradients.estimators import EVALS_PER_SAMPLE, gradient_terms
from methodlib.models.mean_field import MeanFieldLinear

GRAD_REPLICATES = 20
"""Independent training-sized gradient estimates whose spread is the run's gradient variance."""


def nll_cost(model: MeanFieldLinear, x: torch.Tensor, y: torch.Tensor):
    """f(w): the mean negative log-likelihood of the examples under weights (..., dim)."""

    def f(weights: torch.Tensor) -> torch.Tensor:
        log_probs = F.log_softmax(model.logits(x, weights), dim=-1)  # (..., batch, classes)
        picked = log_probs.gather(-1, y.expand(*log_probs.shape[:-1]).unsqueeze(-1))
        return -picked.squeeze(-1).mean(-1)

    return f


def kl_to_prior(model: MeanFieldLinear) -> torch.Tensor:
    """KL(q ‖ N(0, I)) in closed form."""
    mu, sigma = model.flat()
    return 0.5 * (sigma**2 + mu**2 - 1).sum() - sigma.log().sum()


class MCGradientVI(Method):
    Config = MCGradientVIConfig
    config: MCGradientVIConfig

    def build_model(self) -> nn.Module:
        return MeanFieldLinear(self.info.input_shape, self.info.n_classes)

    def estimate(
        self, model: MeanFieldLinear, x: torch.Tensor, y: torch.Tensor, samples: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One estimate of ∇_μ and ∇_σ of the expected mean NLL of (x, y): `samples` terms
        of the estimator, averaged."""
        mu, sigma = model.flat()
        g_mu, g_sigma = gradient_terms(
            self.config.estimator, nll_cost(model, x, y), mu, sigma, samples
        )
        return g_mu.mean(0), g_sigma.mean(0)

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, ctx: StepContext
    ) -> torch.Tensor:
        """−ELBO per example: its value is a plain Monte Carlo estimate, its gradient the
        estimator's (through the surrogate ⟨g_μ, μ⟩ + ⟨g_σ, σ⟩) plus the exact KL's."""
        g_mu, g_sigma = self.estimate(model, x, y, self.config.samples)
        mu, sigma = model.flat()
        surrogate = (g_mu * mu).sum() + (g_sigma * sigma).sum()
        with torch.no_grad():
            eps = torch.randn(self.config.samples, model.dim)
            value = nll_cost(model, x, y)(mu + sigma * eps).mean()
        return surrogate - surrogate.detach() + value + kl_to_prior(model) / ctx.n_train

    @torch.no_grad()
    def elbo(self, model: MeanFieldLinear, x: torch.Tensor, y: torch.Tensor) -> float:
        """The ELBO per example of (x, y), which should be the training split, from
        `eval_samples` posterior draws."""
        mu, sigma = model.flat()
        eps = torch.randn(self.config.eval_samples, model.dim)
        nll = nll_cost(model, x, y)(mu + sigma * eps).mean()
        return float(-nll - kl_to_prior(model) / len(x))

    @torch.no_grad()
    def predict_proba(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Posterior predictive samples: (eval_samples, batch, classes)."""
        mu, sigma = model.flat()
        eps = torch.randn(self.config.eval_samples, model.dim)
        return F.softmax(model.logits(x, mu + sigma * eps), dim=-1)

    def gradient_variance(
        self, model: MeanFieldLinear, x: torch.Tensor, y: torch.Tensor
    ) -> dict[str, float]:
        """The variance of a training step's gradient estimate (`samples` draws) on (x, y),
        per weight, averaged over the weights (the reference's `grad_var_mean`)."""
        estimates = [
            self.estimate(model, x, y, self.config.samples) for _ in range(GRAD_REPLICATES)
        ]
        g_mu = torch.stack([e[0] for e in estimates])
        g_sigma = torch.stack([e[1] for e in estimates])
        return {
            "blr_grad_var_mu": float(g_mu.var(0).mean()),
            "blr_grad_var_sigma": float(g_sigma.var(0).mean()),
        }

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        return {"evals_per_sample": float(EVALS_PER_SAMPLE[self.config.estimator](model.dim))}
