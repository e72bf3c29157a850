"""Gradient estimators for stochastic binary networks against the exact gradient by enumeration
(`methodlib.methods.gradients.binary`; numbers over 10 weight seeds in
`benchmarks/results/binary_estimators.json`).

Unbiased estimators (REINFORCE with baseline everywhere; PSA for the last binary layer and the
output layer, so for the whole of a one-binary-layer network) are checked coordinate by
coordinate: mean of R replicates of S-sample estimates within 5 standard errors of the exact
gradient. The biased ones (the ST variants, Concrete, PSA below the last binary layer) are
measured: their bias must exceed the Monte-Carlo error (so the test would notice an estimator
that silently became another), and the principled ST's backward is checked to be the exact
derivative of E[x | a].

Measured (benchmark, 2-5-5-5, 10 weight seeds, S = 100): relative bias ‖E ĝ − g‖/‖g‖ of the
principled ST 0.09 ± 0.03, tanh ST 0.22 ± 0.06, hard-tanh ST 0.33 ± 0.10, identity ST 1.6 ±
0.6, Concrete τ = 1 0.49 ± 0.08, PSA 0.019 ± 0.008 (REINFORCE at its Monte-Carlo floor 0.006)."""

from __future__ import annotations

import itertools

import pytest
import torch

from methodlib.methods.gradients.binary import (
    ESTIMATORS,
    BinaryNetwork,
    estimate_gradient,
    exact_gradient,
    expected_loss,
    flat,
    logistic_noise,
    output_loss,
    psa_toy_data,
    sample_sign,
    straight_through,
)

Z_MAX = 5.0


def _setup(widths, seed=0, n=30, outputs=1):
    g = torch.Generator().manual_seed(seed)
    x, y = psa_toy_data(n, g)
    if outputs > 1:
        y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return BinaryNetwork.init(widths, outputs, g), x, y, g


def _sampled_loss(net, x, y, g):
    state = x
    for w, b in zip(net.weights[:-1], net.biases[:-1], strict=True):
        a = state @ w.T + b
        state = sample_sign(a, logistic_noise(a, g))
    return output_loss(state @ net.weights[-1].T + net.biases[-1], y).mean()


def _replicates(net, x, y, g, estimator, reps=30, samples=100):
    return torch.stack(
        [
            flat(estimate_gradient(net, x, y, estimator, samples=samples, generator=g))
            for _ in range(reps)
        ]
    )


def _z(reps, exact):
    return (reps.mean(0) - exact) / (reps.std(0) / len(reps) ** 0.5)


@pytest.mark.parametrize(("widths", "outputs"), [((2, 5, 5, 5), 1), ((2, 4, 3), 3)])
def test_expected_loss_matches_monte_carlo(widths, outputs):
    net, x, y, g = _setup(widths, outputs=outputs)
    with torch.no_grad():
        exact = expected_loss(net, x, y)
        losses = torch.stack([_sampled_loss(net, x, y, g) for _ in range(3000)])
    se = losses.std() / len(losses) ** 0.5
    assert abs(losses.mean() - exact) < Z_MAX * se


def test_enumeration_matches_joint_sum():
    """The Markov-chain reduction against the plain sum over all joint states."""
    net, x, y, _ = _setup((2, 2, 3), n=5)
    (w1, w2, wo), (b1, b2, bo) = net.weights, net.biases
    total = torch.zeros((), dtype=x.dtype)
    for s1 in itertools.product((-1.0, 1.0), repeat=2):
        for s2 in itertools.product((-1.0, 1.0), repeat=3):
            x1, x2 = torch.tensor(s1, dtype=x.dtype), torch.tensor(s2, dtype=x.dtype)
            p = torch.sigmoid(x1 * (x @ w1.T + b1)).prod(1)
            p = p * torch.sigmoid(x2 * (x1 @ w2.T + b2)).prod()
            total = total + (p * output_loss((x2 @ wo.T + bo).expand(len(x), -1), y)).mean()
    torch.testing.assert_close(expected_loss(net, x, y), total, rtol=1e-12, atol=0)


def test_reinforce_is_unbiased():
    net, x, y, g = _setup((2, 5, 5, 5))
    exact = flat(exact_gradient(net, x, y))
    assert _z(_replicates(net, x, y, g, "reinforce"), exact).abs().max() < Z_MAX


def test_reinforce_single_sample_baseline_is_unbiased():
    net, x, y, g = _setup((2, 5, 5))
    exact = flat(exact_gradient(net, x, y))
    assert (
        _z(_replicates(net, x, y, g, "reinforce", reps=1000, samples=1), exact).abs().max() < Z_MAX
    )


def test_psa_is_unbiased_with_one_binary_layer():
    net, x, y, g = _setup((2, 5))
    exact = flat(exact_gradient(net, x, y))
    assert _z(_replicates(net, x, y, g, "psa"), exact).abs().max() < Z_MAX


def test_psa_unbiased_in_last_layers_biased_below():
    net, x, y, g = _setup((2, 5, 5, 5))
    exact = flat(exact_gradient(net, x, y))
    z = _z(_replicates(net, x, y, g, "psa"), exact)
    first_last_binary = sum(p.numel() for p in net.parameters()[:4])
    assert z[first_last_binary:].abs().max() < Z_MAX
    assert z[:first_last_binary].abs().max() > Z_MAX


@pytest.mark.parametrize("estimator", ["st", "st_identity", "st_tanh", "st_hardtanh", "concrete"])
def test_relaxations_have_measurable_bias(estimator):
    net, x, y, g = _setup((2, 5, 5, 5))
    exact = flat(exact_gradient(net, x, y))
    assert _z(_replicates(net, x, y, g, estimator, reps=10), exact).abs().max() > Z_MAX


def test_principled_st_backward_is_derivative_of_mean():
    """x = sign(a − Z), P(x = 1) = σ(a): E[x | a] = tanh(a/2), and the principled ST backward
    is its derivative 2σ'(a) whatever the sample, so it is exact for a single layer under a loss
    linear in x."""
    g = torch.Generator().manual_seed(1)
    a = torch.linspace(-4, 4, 9, dtype=torch.float64).requires_grad_()
    samples = torch.stack([straight_through(a, logistic_noise(a, g)) for _ in range(20000)])
    torch.testing.assert_close(samples.mean(0), torch.tanh(a / 2).detach(), atol=0.03, rtol=0)
    assert set(samples.unique().tolist()) == {-1.0, 1.0}
    (grad,) = torch.autograd.grad(straight_through(a, logistic_noise(a, g)).sum(), a)
    s = torch.sigmoid(a.detach())
    torch.testing.assert_close(grad, 2 * s * (1 - s))


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_estimates_have_parameter_shapes_and_dtypes(estimator, dtype):
    g = torch.Generator().manual_seed(2)
    net = BinaryNetwork.init((2, 3, 4), outputs=3, generator=g, dtype=dtype)
    x = torch.randn(7, 2, generator=g, dtype=dtype)
    y = torch.randint(0, 3, (7,), generator=g)
    grads = estimate_gradient(net, x, y, estimator, samples=2, generator=g)
    assert [(p.shape, p.dtype) for p in grads] == [(p.shape, p.dtype) for p in net.parameters()]
    assert all(torch.isfinite(p).all() for p in grads)


def test_unknown_estimator_is_refused():
    net, x, y, g = _setup((2, 3))
    with pytest.raises(ValueError, match="unknown estimator"):
        estimate_gradient(net, x, y, "arm", generator=g)
