"""Config model of the Monte Carlo gradient study's method (torch-free)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveInt

from methodlib.methods.config import MethodConfig


class MCGradientVIConfig(MethodConfig):
    """Bayesian logistic regression by stochastic ELBO ascent with one gradient estimator; a
    run also measures the estimator on the survey's univariate costs (`tasks/estimator.py`)."""

    implementation: ClassVar[str] = "methodlib.methods.mc_gradients.bayes_logreg:MCGradientVI"
    display_name: ClassVar[str] = "MC gradient VI"
    task: ClassVar[str] = "estimator"
    batch_norm: ClassVar[bool] = False
    metrics: ClassVar[tuple[str, ...]] = ("evals_per_sample",)

    name: Literal["mc_gradient_vi"] = "mc_gradient_vi"
    estimator: Literal[
        "score_function", "score_function_baseline", "pathwise", "measure_valued"
    ] = Field("pathwise", description="the estimator of ∇ of the expected log-likelihood")
    samples: PositiveInt = Field(
        50, description="posterior samples per training step (the reference code's 50)"
    )
    eval_samples: PositiveInt = Field(
        200, description="posterior samples of the ELBO, the predictions and the gradient variance"
    )
    grid_samples: PositiveInt = Field(
        16, description="cost-function study: samples N averaged in one gradient estimate"
    )
    grid_replicates: PositiveInt = Field(
        2000, description="cost-function study: independent estimates per (cost, k)"
    )
