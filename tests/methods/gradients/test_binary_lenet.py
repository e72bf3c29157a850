"""The binary-activation classifier against `binary.py`: its units sample ±1 with
P(+1) = σ(a), each estimator's backward is its formula, and the method's loss has the gradient
of `binary.surrogate_loss` on the same weights and noise."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from methodlib.methods import METHODS, DataInfo, StepContext
from methodlib.methods.gradients.binary import BinaryNetwork, logistic_noise, surrogate_loss
from methodlib.methods.gradients.binary_lenet import StochasticBinary

ESTIMATORS = ("st", "st_identity", "st_tanh", "concrete", "reinforce", "psa")
INFO = DataInfo(input_shape=(1, 4, 4), n_classes=10, n_train=64)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_units_sample_plus_one_with_probability_sigmoid(estimator):
    torch.manual_seed(0)
    a = torch.linspace(-3, 3, 7, dtype=torch.float64)
    unit = StochasticBinary(estimator, tau=1.0).eval()
    with torch.no_grad():
        x = unit(a.expand(40_000, -1))
    assert set(x.unique().tolist()) == {-1.0, 1.0}
    p = torch.sigmoid(a)
    se = (p * (1 - p) / len(x)).sqrt()
    assert ((x == 1).double().mean(0) - p).abs().max() < 4 * se.max()


def test_binary_units_replace_every_relu():
    method = METHODS["binary_activations"](
        METHODS["binary_activations"].Config(), "lenet300_100", INFO
    )
    model = method.build_model()
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())
    assert sum(isinstance(m, StochasticBinary) for m in model.modules()) == 2


DERIVATIVES = {
    "st": lambda a, z, tau: 2 * torch.sigmoid(a) * (1 - torch.sigmoid(a)),
    "st_identity": lambda a, z, tau: torch.ones_like(a),
    "st_tanh": lambda a, z, tau: 1 - torch.tanh(a) ** 2,
    "concrete": lambda a, z, tau: (
        2 * torch.sigmoid((a - z) / tau) * torch.sigmoid((z - a) / tau) / tau
    ),
}


@pytest.mark.parametrize("estimator", sorted(DERIVATIVES))
def test_backward_is_the_estimators_derivative(estimator):
    a = torch.linspace(-4, 4, 41, dtype=torch.float64).requires_grad_()
    tau = 0.5
    torch.manual_seed(1)
    z = logistic_noise(a)
    torch.manual_seed(1)
    x = StochasticBinary(estimator, tau).train()(a)
    if estimator != "concrete":
        assert torch.equal(x.detach(), torch.where(a.detach() >= z, 1.0, -1.0).double())
    (grad,) = torch.autograd.grad(x.sum(), a)
    torch.testing.assert_close(grad, DERIVATIVES[estimator](a.detach(), z, tau))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_loss_gradient_is_binary_py_surrogate(estimator):
    """Same weights, same noise (the global generator, drawn layer by layer): the method's
    loss gives the gradient `binary.surrogate_loss` estimates with one sample per row."""
    cls = METHODS["binary_activations"]
    method = cls(cls.Config(estimator=estimator, tau=0.7), "lenet300_100", INFO)
    torch.manual_seed(0)
    model = method.build_model().double().train()
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    net = BinaryNetwork([m.weight for m in linears], [m.bias for m in linears])
    g = torch.Generator().manual_seed(3)
    x = torch.randn(32, *INFO.input_shape, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (32,), generator=g)
    torch.manual_seed(5)
    ours = torch.autograd.grad(
        method.loss(model, x, y, StepContext(0, 0, 1, 1, 64)), net.parameters()
    )
    torch.manual_seed(5)
    theirs = torch.autograd.grad(
        surrogate_loss(net, x.flatten(1), y, estimator, tau=0.7), net.parameters()
    )
    for mine, ref in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, ref)
    assert any(g.abs().sum() > 0 for g in ours[:2])  # the first layer learns
