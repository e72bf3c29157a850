"""`ffg_vi`: the Gaussian layers' local reparameterisation against sampled weights, the KL
against numerical integration, the ELBO wiring, and a run through the training loop."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from scipy import integrate, stats

from methodlib.methods import DataInfo, StepContext
from methodlib.methods.ensembles.ffg_vi import FFGVI, FFGVIConfig
from methodlib.methods.layers.gaussian import GaussianConv2d, GaussianLinear
from tests.methods.ensembles.pitfalls_helpers import output_moments, smoke_run

INFO = DataInfo(input_shape=(1, 8, 8), n_classes=10, n_train=64)


def _randomise(layer: torch.nn.Module) -> None:
    with torch.no_grad():
        layer.weight.normal_(0, 0.5)
        layer.bias.normal_(0, 0.5)
        layer.log_sigma2.uniform_(-4, 0)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [(GaussianLinear(5, 3, 0.01), (1, 5)), (GaussianConv2d(2, 3, 3, 1, 0.01), (1, 2, 4, 4))],
    ids=["linear", "conv"],
)
def test_local_reparameterisation_matches_sampled_weights(layer, shape):
    """The output's mean and variance equal those over explicitly sampled weight tensors."""
    torch.manual_seed(0)
    _randomise(layer)
    x = torch.randn(shape)
    lrt_mean, lrt_var = output_moments(layer, x, 100_000)
    sigma = (0.5 * layer.log_sigma2).exp()
    with torch.no_grad():
        outs = torch.stack(
            [
                layer._op(x, layer.weight + sigma * torch.randn_like(sigma), layer.bias)[0]
                for _ in range(20_000)
            ]
        )
    torch.testing.assert_close(lrt_mean, outs.mean(0), atol=0.03, rtol=0)
    torch.testing.assert_close(lrt_var, outs.var(0), atol=0.02, rtol=0.05)
    exact_var = layer._op(x.square(), sigma.square(), None)[0]
    torch.testing.assert_close(lrt_var, exact_var, atol=0.01, rtol=0.03)


def test_kl_matches_numerical_integration():
    layer = GaussianLinear(3, 2, 0.01)
    _randomise(layer)
    prior_std = 0.7
    mu = layer.weight.detach().flatten().double().numpy()
    sigma = (0.5 * layer.log_sigma2).exp().detach().flatten().double().numpy()
    expected = 0.0
    for m, s in zip(mu, sigma, strict=True):
        q, p = stats.norm(m, s), stats.norm(0, prior_std)
        value, _ = integrate.quad(
            lambda w, q=q, p=p: q.pdf(w) * (q.logpdf(w) - p.logpdf(w)), m - 12 * s, m + 12 * s
        )
        expected += value
    assert layer.kl(prior_std).item() == pytest.approx(expected, rel=1e-4)


def test_kl_vanishes_at_the_prior():
    layer = GaussianLinear(4, 3, sigma_init=0.3)
    with torch.no_grad():
        layer.weight.zero_()
    assert layer.kl(0.3).abs().item() < 1e-5


def test_loss_is_nll_plus_weighted_kl_with_warmup():
    method = FFGVI(FFGVIConfig(kl_weight=0.5, kl_warmup=0.5), "lenet300_100", INFO)
    model = method.build_model()
    x, y = torch.randn(8, *INFO.input_shape), torch.randint(0, 10, (8,))
    kl = method.kl(model)
    for epoch, beta in [(0, 0.0), (1, 0.25), (3, 0.5)]:  # progress 0, 0.25, 0.75 of 4 epochs
        ctx = StepContext(epoch, 0, 1, 4, INFO.n_train)
        torch.manual_seed(0)
        loss = method.loss(model, x, y, ctx)
        torch.manual_seed(0)
        nll = F.cross_entropy(model(x), y)
        torch.testing.assert_close(loss, nll + beta * kl / INFO.n_train)


def test_predictions_average_distinct_weight_samples():
    torch.manual_seed(0)
    method = FFGVI(FFGVIConfig(samples=6, sigma_init=0.1), "lenet5", INFO)
    model = method.build_model().eval()
    probs = method.predict_proba(model, torch.randn(4, *INFO.input_shape))
    assert probs.shape == (6, 4, 10)
    assert not torch.allclose(probs[0], probs[1])
    assert method.validation_proba(model, torch.randn(4, *INFO.input_shape)).shape[0] == 5


def test_init_from_a_dense_run_sets_the_means():
    dense = FFGVI(FFGVIConfig(), "lenet300_100", INFO)
    weights = {
        k: torch.randn_like(v)
        for k, v in dense.build_model().state_dict().items()
        if "log_sigma2" not in k
    }
    method = FFGVI(FFGVIConfig(sigma_init=0.02), "lenet300_100", INFO)
    model = method.build_model()
    method.init_from(model, weights)
    layer = model.net[1]
    torch.testing.assert_close(layer.weight.detach(), weights["net.1.weight"])
    torch.testing.assert_close(
        layer.log_sigma2.detach(), torch.full_like(layer.weight, 2 * math.log(0.02))
    )


def test_end_to_end_on_tiny_digits(tmp_path, data_root):
    """β = 0.1: with 210 training digits the full KL keeps the posterior at the prior."""
    _, probs, accuracy = smoke_run(
        tmp_path, data_root, method={"name": "ffg_vi", "samples": 4, "kl_weight": 0.1}
    )
    assert probs.shape[0] == 4 and not (probs[0] == probs[1]).all()
    assert accuracy > 0.6  # chance is 0.1
