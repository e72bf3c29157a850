"""Stochastic binary weights (`methodlib.methods.gradients.binary_weights`) against direct
computations: the sampled signs have P(+1) = σ(η); the layer's gradient in η is ∂L/∂w at the
sampled weights; averaged over all 2^n weight states (exact enumeration) that straight-through
gradient is the exact gradient of E_w[L] in the mean μ when L is linear in w, and close to it
(but biased) under the logistic loss; one gradient step on η is the mirror-descent step in μ
under the Bernoulli negative entropy, found here by minimising the Bregman-proximal objective
numerically."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from pydantic import ValidationError
from scipy.optimize import minimize_scalar
from torch import nn
from torch.nn import functional as F

from methodlib.methods import METHODS, DataInfo, StepContext
from methodlib.methods.gradients.binary import logistic_noise
from methodlib.methods.gradients.binary_weights import (
    BinaryWeightLinear,
    mirror_straight_through,
)

N = 6
INFO = DataInfo(input_shape=(1, 4, 4), n_classes=10, n_train=64)


def _layer_and_data(seed=0):
    g = torch.Generator().manual_seed(seed)
    linear = nn.Linear(N, 1).double()
    layer = BinaryWeightLinear(linear, init_scale=3.0)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(1, N, generator=g, dtype=torch.float64) * 1.5)
    x = torch.randn(20, N, generator=g, dtype=torch.float64)
    y = (torch.rand(20, generator=g, dtype=torch.float64) < 0.5).double()
    return layer, x, y


LOSSES = {
    "linear": lambda logit, y: (-(2 * y - 1) * logit).mean(),
    "logistic": lambda logit, y: F.binary_cross_entropy_with_logits(logit, y),
}


def _loss_at(w, layer, x, y, loss):
    return LOSSES[loss](F.linear(x, w * layer.scale, layer.bias)[:, 0], y)


def _states():
    return torch.tensor(list(itertools.product((-1.0, 1.0), repeat=N)), dtype=torch.float64)


def test_signs_have_probability_sigmoid_and_identity_backward():
    g = torch.Generator().manual_seed(1)
    eta = torch.linspace(-3, 3, 7, dtype=torch.float64).requires_grad_()
    w = torch.stack([mirror_straight_through(eta, logistic_noise(eta, g)) for _ in range(40_000)])
    assert set(w.unique().tolist()) == {-1.0, 1.0}
    p = torch.sigmoid(eta.detach())
    assert ((w == 1).double().mean(0) - p).abs().max() < 4 * (0.25 / len(w)) ** 0.5
    (grad,) = torch.autograd.grad(mirror_straight_through(eta, logistic_noise(eta, g)).sum(), eta)
    torch.testing.assert_close(grad, torch.ones_like(eta))


def test_layer_gradient_is_loss_derivative_at_the_sampled_weights():
    layer, x, y = _layer_and_data()
    torch.manual_seed(4)
    loss = LOSSES["logistic"](layer(x)[:, 0], y)
    (ours,) = torch.autograd.grad(loss, layer.weight)
    torch.manual_seed(4)
    w = torch.where(layer.weight.detach() >= logistic_noise(layer.weight), 1.0, -1.0).double()
    w.requires_grad_()
    (direct,) = torch.autograd.grad(_loss_at(w, layer, x, y, "logistic"), w)
    torch.testing.assert_close(ours, direct)


def _exact_and_expected_st(loss):
    """∂E_w[L]/∂μ by enumeration, and E_w[∂L/∂w] (the mirror-descent ST's mean), exactly."""
    layer, x, y = _layer_and_data()
    mu = torch.tanh(layer.weight.detach()[0] / 2).requires_grad_()
    states = _states()
    probs = ((1 + states * mu) / 2).prod(1)  # P(w = s): P(w_i = s_i) = (1 + s_i μ_i)/2
    losses = torch.stack([_loss_at(s[None], layer, x, y, loss) for s in states])
    (exact,) = torch.autograd.grad((probs * losses.detach()).sum(), mu)
    st = []
    for s in states:
        w = s[None].clone().requires_grad_()
        st.append(torch.autograd.grad(_loss_at(w, layer, x, y, loss), w)[0][0])
    return exact, (probs.detach()[:, None] * torch.stack(st)).sum(0)


def test_mirror_st_is_exact_gradient_in_the_mean_for_a_loss_linear_in_w():
    exact, expected = _exact_and_expected_st("linear")
    torch.testing.assert_close(expected, exact, rtol=1e-12, atol=1e-12)


def test_mirror_st_is_close_but_biased_under_the_logistic_loss():
    exact, expected = _exact_and_expected_st("logistic")
    cosine = F.cosine_similarity(expected, exact, dim=0)
    assert cosine > 0.9  # measured 0.948 (six weights, |η| up to ~3)
    assert (expected - exact).abs().max() > 1e-4


@pytest.mark.parametrize("seed", range(3))
def test_gradient_step_on_eta_is_the_mirror_descent_step_in_mu(seed):
    """argmin_ν g ν + D_φ(ν, μ)/ε, φ the Bernoulli negative entropy of p = (1 + ν)/2, is the
    mean after the step η ← η − 2 ε g on η = 2 atanh(μ)."""
    g = torch.Generator().manual_seed(seed)
    eta = float(torch.randn((), generator=g) * 2)
    grad = float(torch.randn((), generator=g))
    lr = 0.3
    mu = math.tanh(eta / 2)

    def phi(nu):
        p = (1 + nu) / 2
        return p * math.log(p) + (1 - p) * math.log(1 - p)

    d_phi = eta / 2  # φ'(μ) = ½ log(p / (1 − p)) = η / 2

    def objective(nu):
        return grad * nu + (phi(nu) - phi(mu) - d_phi * (nu - mu)) / lr

    best = minimize_scalar(
        objective, bounds=(-1 + 1e-12, 1 - 1e-12), method="bounded", options={"xatol": 1e-12}
    )
    assert best.x == pytest.approx(math.tanh((eta - 2 * lr * grad) / 2), abs=1e-7)


def test_method_with_binary_weights_trains_latent_weights():
    cls = METHODS["binary_activations"]
    method = cls(cls.Config(binary_weights=True), "lenet300_100", INFO)
    torch.manual_seed(0)
    model = method.build_model().train()
    plain = METHODS["dense"](METHODS["dense"].Config(), "lenet300_100", INFO).build_model()
    assert list(model.state_dict()) == list(plain.state_dict())
    layers = [m for m in model.modules() if isinstance(m, BinaryWeightLinear)]
    assert len(layers) == 3
    x, y = torch.randn(16, *INFO.input_shape), torch.randint(0, 10, (16,))
    loss = method.loss(model, x, y, StepContext(0, 0, 1, 1, 64))
    grads = torch.autograd.grad(loss, [m.weight for m in layers])
    assert all(g.abs().sum() > 0 for g in grads)
    probs = method.predict_proba(model.eval(), x)
    torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:-1]))


def test_psa_with_binary_weights_is_refused():
    with pytest.raises(ValidationError, match="psa"):
        METHODS["binary_activations"].Config(estimator="psa", binary_weights=True)
