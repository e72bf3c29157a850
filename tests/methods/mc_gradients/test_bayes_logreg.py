"""The logistic regression's objective: the KL in closed form against torch's, and the
gradient every estimator's surrogate gives against the exact gradient of −ELBO per example
(the reparameterised gradient from many samples; all estimators share its expectation)."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from methodlib.methods import METHODS, DataInfo, StepContext
from methodlib.methods.mc_gradients.bayes_logreg import kl_to_prior, nll_cost
from methodlib.methods.mc_gradients.estimators import ESTIMATORS

INFO = DataInfo(input_shape=(3,), n_classes=2, n_train=40, domain="real")


def _method(estimator: str, **settings):
    cls = METHODS["mc_gradient_vi"]
    method = cls(cls.Config(estimator=estimator, **settings), "mean_field_logreg", INFO)
    model = method.build_model()
    with torch.no_grad():
        model.mu.copy_(torch.tensor([[0.5, -0.2], [1.0, 0.3], [-0.4, 0.1], [0.2, 0.0]]))
        model.log_sigma.fill_(-0.5)
    return method, model


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(8, 3, generator=g), torch.randint(0, 2, (8,), generator=g)


def test_kl_matches_torch():
    _, model = _method("pathwise")
    mu, sigma = model.flat()
    expected = kl_divergence(Normal(mu, sigma), Normal(0.0, 1.0)).sum()
    torch.testing.assert_close(kl_to_prior(model), expected)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_surrogate_gradient_is_unbiased_for_the_negative_elbo(estimator):
    torch.manual_seed(0)
    method, model = _method(estimator, samples=20)
    x, y = _data()
    ctx = StepContext(0, 0, 1, 1, INFO.n_train)
    grads = []
    for _ in range(300):
        model.zero_grad()
        method.loss(model, x, y, ctx).backward()
        grads.append(torch.cat([model.mu.grad.flatten(), model.log_sigma.grad.flatten()]))
    grads = torch.stack(grads)
    # the exact gradient: reparameterised, with 400,000 samples
    mu, sigma = model.flat()
    eps = torch.randn(400_000, model.dim)
    model.zero_grad()
    (nll_cost(model, x, y)(mu + sigma * eps).mean() + kl_to_prior(model) / INFO.n_train).backward()
    exact = torch.cat([model.mu.grad.flatten(), model.log_sigma.grad.flatten()])
    error = grads.std(0) / len(grads) ** 0.5
    assert ((grads.mean(0) - exact).abs() < 4.5 * error + 2e-3).all()


def test_loss_value_is_the_negative_elbo_per_example():
    torch.manual_seed(0)
    method, model = _method("measure_valued", samples=4000, eval_samples=4000)
    x, y = _data()
    loss = method.loss(model, x, y, StepContext(0, 0, 1, 1, len(x)))
    assert loss.item() == pytest.approx(-method.elbo(model, x, y), abs=0.06)


def test_predictions_and_cost_metrics():
    method, model = _method("measure_valued", eval_samples=7)
    x, _ = _data()
    probs = method.predict_proba(model, x)
    assert probs.shape == (7, 8, 2)
    torch.testing.assert_close(probs.sum(-1), torch.ones(7, 8))
    assert method.run_metrics(model) == {"evals_per_sample": 4.0 * 8}
    variance = method.gradient_variance(model, *_data())
    assert set(variance) == {"blr_grad_var_mu", "blr_grad_var_sigma"}
