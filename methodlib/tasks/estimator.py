"""Monte Carlo gradient estimators (Mohamed et al. 2020): a run is one estimator
(`methods/mc_gradients/`), trained as Bayesian logistic regression on its dataset and measured
on the survey's univariate costs.

After training, a run saves (`test_outputs`):
- the cost-function study, which needs no data: for each cost f(x; k) of `costs.K_GRID` at
  μ = σ = 1, `grid_replicates` independent gradient estimates (∂μ, ∂σ), each the mean of
  `grid_samples` terms (`grid`, shape (costs, k, 2, replicates)), and for the square cost at
  k = 3 the estimates from N = 1, 4, 16, 64 samples (`by_n`, (N, 2, replicates)), and the σ
  sweep: at μ = 1 and one k per cost (`SIGMA_K`), the same estimates for σ of `SIGMA_GRID`
  (`by_sigma`, (costs, σ, 2, replicates)), all seeded by the run's seed; and the exact
  gradients (`exact`, `exact_sigma`);
- the logistic regression's posterior predictive on the test split (`probs`, `labels`), the
  final ELBO per example on the training split and the variance of a training step's gradient
  estimate there (`blr`).

The metrics (`evaluate`): `var_<θ>_<cost>_k<k>`, N × the variance of an N-sample estimate
(the per-sample variance the survey plots, for independent samples), `var_<θ>_square_n<N>`,
`var_<θ>_<cost>_s<100 σ>` (the σ sweep; σ in hundredths, metric names carry integers),
`bias_z_rms`, the root mean square over the grid of the z-scores (mean − exact) / standard
error (about 1 for an unbiased estimator, growing with √replicates for a biased one), and the
logistic regression's `final_elbo` (the log's last `elbo`, from its own draws; a metric named
`elbo` would shadow the log column in `kind: epochs` figures), `test_accuracy`,
`blr_grad_var_mu`, `blr_grad_var_sigma` and `evals_per_sample`. The log's `elbo` column is the
training ELBO after every epoch. The hooks: `routines/estimator.py`."""

from __future__ import annotations

from methodlib.tasks.base import Task

N_COST = "square"
"""The cost whose estimates are also measured against the samples per estimate (`_n<N>`)."""
PARAMS = ("mu", "sigma")
COST_NAMES = ("square", "cos", "exp")
"""`costs.COSTS`, said here too so that declaring the metrics imports no torch."""


class Estimator(Task):
    name = "estimator"
    routine = "methodlib.routines.estimator:EstimatorRoutine"
    metrics = (
        *(f"var_{p}_{c}_k*" for p in PARAMS for c in COST_NAMES),
        *(f"var_{p}_{N_COST}_n*" for p in PARAMS),
        *(f"var_{p}_{c}_s*" for p in PARAMS for c in COST_NAMES),
        "bias_z_rms",
        "final_elbo",
        "test_accuracy",
        "blr_grad_var_mu",
        "blr_grad_var_sigma",
        "flops",
    )
    log_columns = ("elbo",)
