"""`swag`: its moments match a hand computation, its draws have the diagonal plus low-rank
covariance of the paper, every draw gets its own batch-norm statistics, and the same draws
serve every batch and survive a checkpoint."""

from __future__ import annotations

import pytest
import torch

from methodlib.methods.ensembles.swag import SWAG, SWAGConfig
from methodlib.methods.ensembles.weight_averaging import WeightMoments
from tests.conftest import tiny_pipeline
from tests.methods.ensembles.ensembling_helpers import (
    INFO,
    assert_resume_is_identical,
    context,
    data,
    jiggle,
    probs,
    reloaded,
)


def fed(rank: int, vectors: torch.Tensor) -> WeightMoments:
    moments = WeightMoments(rank)
    for v in vectors:
        moments.update(v)
    return moments


def test_moments_match_a_hand_computation_and_keep_the_last_rank_deviations():
    vectors = torch.randn(7, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    moments = fed(3, vectors)
    torch.testing.assert_close(moments.mean, vectors.mean(0))
    torch.testing.assert_close(moments.variance(), vectors.var(0, unbiased=False))
    running_means = vectors.cumsum(0) / torch.arange(1, 8, dtype=torch.float64)[:, None]
    expected = (vectors - running_means)[-3:]
    torch.testing.assert_close(torch.stack(moments.deviations), expected)
    assert WeightMoments().state_dict() == {}


def test_draws_have_the_swag_mean_and_covariance():
    """Σ = scale/2 · (diag(E[θ²] − θ̄²) + D·Dᵀ/(K − 1)) on a 4-dimensional weight vector."""
    g = torch.Generator().manual_seed(1)
    vectors = torch.randn(6, 4, generator=g, dtype=torch.float64) * torch.tensor([1, 2, 0.5, 1])
    vectors[:, 3] = vectors[:, 0] + 0.1 * vectors[:, 3]  # a strongly correlated pair
    method = SWAG(SWAGConfig(max_rank=4, scale=0.5), "lenet300_100", INFO)
    method.moments = fed(4, vectors)
    torch.manual_seed(0)
    draws = torch.stack([method.sample() for _ in range(40_000)])

    mean = vectors.mean(0)
    running_means = vectors.cumsum(0) / torch.arange(1, 7, dtype=torch.float64)[:, None]
    d = (vectors - running_means)[-4:].T
    cov = 0.25 * (torch.diag(vectors.var(0, unbiased=False)) + d @ d.T / 3)
    torch.testing.assert_close(draws.mean(0), mean, atol=0.02, rtol=0)
    torch.testing.assert_close(draws.T.cov(), cov, atol=0.02, rtol=0.05)


def swag_after(epochs: int, model_name: str, x_train=None, **config) -> tuple[SWAG, object]:
    torch.manual_seed(0)
    method = SWAG(SWAGConfig(start=0.0, **config), model_name, INFO)
    model = method.build_model()
    for epoch in range(epochs):
        jiggle(model, epoch)
        method.on_epoch_end(model, context(epoch, epochs, x_train))
    return method, model.eval()


def test_every_draw_gets_batch_norm_statistics_of_the_training_data():
    x_train = data(3, n=64, shift=2.0)[0]
    method, model = swag_after(3, "lenet300_100_bn", x_train, samples=4)
    draws = method.posterior_draws(model)
    assert len(draws) == 4
    for weights in draws:
        net = method.build_model()
        net.load_state_dict(weights)
        with torch.no_grad():
            pre_activations = net.net[1](net.net[0](x_train))
        torch.testing.assert_close(weights["net.2.running_mean"], pre_activations.mean(0))
    assert not torch.equal(draws[0]["net.1.weight"], draws[1]["net.1.weight"])


def test_predictions_use_the_same_draws_for_every_batch_and_validation_uses_the_mean():
    method, model = swag_after(3, "lenet5_bn", samples=5)
    x = data(2, n=12)[0]
    whole = method.predict_proba(model, x)
    assert whole.shape == (5, 12, 10)
    parts = torch.cat([method.predict_proba(model, x[:5]), method.predict_proba(model, x[5:])], 1)
    torch.testing.assert_close(parts, whole)
    torch.testing.assert_close(method.validation_proba(model, x), method.swa_proba(model, x))
    assert method.validation_proba(model, x).shape == (1, 12, 10)


def test_before_any_average_the_model_predicts():
    torch.manual_seed(0)
    method = SWAG(SWAGConfig(), "lenet300_100", INFO)
    model = method.build_model().eval()
    x = data(2, n=6)[0]
    expected = torch.softmax(model(x), -1).unsqueeze(0)
    torch.testing.assert_close(method.predict_proba(model, x), expected)


def test_restored_posterior_predicts_without_batch_norm_and_explains_with_it():
    method, model = swag_after(3, "lenet300_100", samples=3)
    x = data(2, n=6)[0]
    torch.manual_seed(5)
    expected = method.predict_proba(model, x)
    fresh = reloaded(method)
    torch.manual_seed(5)
    torch.testing.assert_close(fresh.predict_proba(model, x), expected)

    bn_method, bn_model = swag_after(3, "lenet300_100_bn", samples=3)
    with pytest.raises(RuntimeError, match="training inputs"):
        reloaded(bn_method).predict_proba(bn_model, x)


def test_end_to_end_run_resumes_to_the_same_draws(tmp_path, data_root, monkeypatch):
    method = {"name": "swag", "start": 0.25, "samples": 4}
    pipeline = tiny_pipeline(model="lenet5_bn", method=method, training={"epochs": 4})
    reference = assert_resume_is_identical(pipeline, tmp_path, data_root, monkeypatch)
    p = probs(reference)
    assert p.shape[0] == 4 and not (p[0] == p[1]).all()
