"""Bayesian incremental learning: the chunks partition the data and follow the epoch schedule,
the KL is the closed-form Gaussian one against the previous posterior, priors move only at chunk
boundaries, and an interrupted run resumes to the same result."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError
from torch.distributions import Normal, kl_divergence

from methodlib.errors import RunError
from methodlib.methods import DataInfo, EpochContext, StepContext
from methodlib.methods.layers.gaussian_prior import (
    GaussianPriorLinear,
    gaussian_kl,
    gaussian_layers,
    total_kl,
)
from methodlib.methods.pruning.bayes_incremental import (
    BayesIncremental,
    BayesIncrementalConfig,
    chunk_loss,
)
from methodlib.spec import load_pipeline
from methodlib.train import CHECKPOINT, train_run
from tests.conftest import interrupted_in_epoch, tiny_pipeline

INFO = DataInfo(input_shape=(1, 8, 8), n_classes=10, n_train=103)


def make(model_name: str = "lenet300_100", **config) -> BayesIncremental:
    return BayesIncremental(BayesIncrementalConfig(**config), model_name, INFO)


def data(seed: int = 0, n: int = 16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *INFO.input_shape, generator=g), torch.randint(0, 10, (n,), generator=g)


def start(method: BayesIncremental, model, epochs: int) -> torch.Tensor:
    """The first training step of a run of `epochs` epochs, as the loop takes it."""
    x, y = data()
    return method.loss(model, x, y, StepContext(0, 0, 1, epochs, len(method.chunk_indices[0])))


def test_chunks_partition_the_training_set_deterministically():
    chunks = make(chunks=4, seed=3).chunk_indices
    assert sorted(torch.cat(chunks).tolist()) == list(range(INFO.n_train))
    assert {len(c) for c in chunks} == {25, 26}
    again = make(chunks=4, seed=3).chunk_indices
    assert all(torch.equal(a, b) for a, b in zip(chunks, again, strict=True))
    other = make(chunks=4, seed=4).chunk_indices
    assert not torch.equal(chunks[0], other[0])


@pytest.mark.parametrize(
    ("epochs", "chunks", "expected"),
    [(10, 5, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]), (7, 3, [0, 0, 0, 1, 1, 2, 2]), (3, 3, [0, 1, 2])],
)
def test_epoch_subset_switches_chunks_at_the_right_epochs(epochs, chunks, expected):
    method = make(chunks=chunks, strategy="finetune")
    start(method, method.build_model(), epochs)
    for epoch, chunk in enumerate(expected):
        assert torch.equal(method.epoch_subset(epoch), method.chunk_indices[chunk]), epoch
    joint = make(chunks=chunks, strategy="joint")
    start(joint, joint.build_model(), epochs)
    assert all(joint.epoch_subset(e) is None for e in range(epochs))


def test_fewer_epochs_than_chunks_is_an_error():
    method = make(chunks=5)
    with pytest.raises(RunError, match=r"training.epochs \(4\) is less than method.chunks \(5\)"):
        start(method, method.build_model(), epochs=4)
    with pytest.raises(ValidationError):
        BayesIncrementalConfig(chunks=0)
    with pytest.raises(ValidationError):
        BayesIncrementalConfig(strategy="ewc")


def test_gaussian_kl_is_the_closed_form():
    g = torch.Generator().manual_seed(0)
    mu, prior_mu = torch.randn(50, generator=g), torch.randn(50, generator=g)
    log_sigma, prior_log_sigma = torch.randn(50, generator=g), torch.randn(50, generator=g)
    expected = kl_divergence(Normal(mu, log_sigma.exp()), Normal(prior_mu, prior_log_sigma.exp()))
    torch.testing.assert_close(gaussian_kl(mu, log_sigma, prior_mu, prior_log_sigma), expected)


def test_first_prior_is_the_standard_one_and_the_loss_adds_kl_per_chunk_example():
    method = make("lenet5", prior_std=0.5, kl_weight=0.3)
    torch.manual_seed(0)
    model = method.build_model()
    layers = gaussian_layers(model)
    assert len(layers) == 4  # two convolutions, two linear layers
    expected = sum(
        kl_divergence(
            Normal(getattr(layer, name), getattr(layer, f"{name}_log_sigma").exp()),
            Normal(0.0, 0.5),
        ).sum()
        for layer in layers
        for name in ("weight", "bias")
    )
    torch.testing.assert_close(total_kl(model), expected)
    x, y = data()
    torch.manual_seed(1)
    loss = start(method, model, epochs=5)
    torch.manual_seed(1)
    nll = F.cross_entropy(model(x), y)
    n_chunk = len(method.chunk_indices[0])
    torch.testing.assert_close(loss, nll + 0.3 * expected / n_chunk)


def test_prior_becomes_the_posterior_at_chunk_boundaries_only():
    method = make(chunks=2, prior_std=0.2)
    model = method.build_model()
    start(method, model, epochs=4)
    x, y = data()

    def epoch_end(epoch: int) -> None:
        with torch.no_grad():  # as if the epoch had trained the posterior
            for p in model.parameters():
                p.add_(0.01 * torch.randn_like(p))
        method.on_epoch_end(model, EpochContext(epoch, 4, x, y, x, y, batch_size=8))

    def prior_is_posterior() -> bool:
        return total_kl(model).item() == 0.0

    epoch_end(0)
    assert not prior_is_posterior()
    assert all(
        torch.all(layer.weight_prior_log_sigma == torch.tensor(0.2).log())
        for layer in gaussian_layers(model)
    )
    assert method.run_metrics(model) == {}
    epoch_end(1)  # the end of chunk 1
    assert prior_is_posterior()
    assert list(method.run_metrics(model)) == ["accuracy_after_chunk_1"]
    assert method.epoch_metrics(model)["chunk"] == 1.0
    frozen = [layer.weight_prior_mu.clone() for layer in gaussian_layers(model)]
    epoch_end(2)
    assert total_kl(model).item() > 0
    assert all(
        torch.equal(layer.weight_prior_mu, f)
        for layer, f in zip(gaussian_layers(model), frozen, strict=True)
    )
    assert method.epoch_metrics(model)["chunk"] == 2.0
    epoch_end(3)
    assert prior_is_posterior()
    metrics = method.run_metrics(model)
    assert list(metrics) == ["accuracy_after_chunk_1", "accuracy_after_chunk_2"]
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in metrics.values())


def test_bayes_predictions_sample_and_ml_strategies_do_not():
    x = data()[0]
    bayes = make(samples=4)
    model = bayes.build_model().eval()
    probs = bayes.predict_proba(model, x)
    assert probs.shape == (4, 16, 10) and not torch.allclose(probs[0], probs[1])
    finetune = make(strategy="finetune")
    model = finetune.build_model().eval()
    assert not gaussian_layers(model)
    torch.testing.assert_close(finetune.predict_proba(model, x), finetune.predict_proba(model, x))
    assert finetune.predict_proba(model, x).shape == (1, 16, 10)


def run(pipeline, tmp_path, data_root, name):
    out = tmp_path / name
    train_run(pipeline, "exp", 0, out, data_dir=data_root / "digits", progress=False)
    return out


def outputs(run_dir):
    with np.load(run_dir / "predictions.npz") as data:
        probs = data["probs"]
    record = json.loads((run_dir / "run.json").read_text())
    with (run_dir / "train_log.csv").open() as f:
        chunks = [float(row["chunk"]) for row in csv.DictReader(f)]
    return probs, record["model_stats"], chunks


def test_interrupted_bayes_run_resumes_identically(tmp_path, data_root, monkeypatch):
    method = {"name": "bayes_incremental", "chunks": 2, "samples": 3, "kl_weight": 0.01}
    pipeline = tiny_pipeline(method=method, training={"epochs": 4, "batch_size": 32, "lr": 0.003})
    probs, stats, chunks = outputs(run(pipeline, tmp_path, data_root, "reference"))
    assert probs.shape[0] == 3
    assert chunks == [1.0, 1.0, 2.0, 2.0]
    assert set(stats) >= {"accuracy_after_chunk_1", "accuracy_after_chunk_2"}
    assert stats["accuracy_after_chunk_2"] > 0.3

    with interrupted_in_epoch(monkeypatch, BayesIncremental, 2):
        run(pipeline, tmp_path, data_root, "resumed")
    assert (tmp_path / "resumed" / CHECKPOINT).is_file()
    resumed_probs, resumed_stats, resumed_chunks = outputs(
        run(pipeline, tmp_path, data_root, "resumed")
    )
    np.testing.assert_array_equal(resumed_probs, probs)
    assert resumed_stats == stats and resumed_chunks == chunks


@pytest.mark.parametrize("strategy", ["finetune", "joint"])
def test_maximum_likelihood_strategies_train_end_to_end(tmp_path, data_root, strategy):
    method = {"name": "bayes_incremental", "strategy": strategy, "chunks": 3}
    probs, stats, chunks = outputs(run(tiny_pipeline(method=method), tmp_path, data_root, "run"))
    assert probs.shape[0] == 1
    assert chunks == [1.0, 2.0, 3.0]
    assert [k for k in stats if k.startswith("accuracy_after")] == [
        f"accuracy_after_chunk_{k}" for k in (1, 2, 3)
    ]


def study_bayes_configs() -> dict[str, BayesIncrementalConfig]:
    """The `bayes` experiments of the incremental study, as pipeline.yaml declares them."""
    pipeline = load_pipeline(Path(__file__).parents[3] / "pipeline.yaml")
    return {
        name: BayesIncrementalConfig(**spec.method.model_dump())
        for name, spec in pipeline.experiments.items()
        if spec.study == "incremental" and spec.method.name == "bayes_incremental"
        if spec.method.strategy == "bayes"
    }


def conjugate_chunks(chunks: int = 5, pairs: int = 6, noise: float = 0.5):
    """Regression data y = 0.7·x − 0.2 + noise in `chunks` chunks whose inputs come in ±x pairs:
    Σx = 0 in every chunk, so the exact posterior of (w, b) under a factorised Gaussian prior is
    factorised too and the mean-field family holds it exactly."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(chunks, pairs, generator=g, dtype=torch.float64) * 2 + 0.5
    x = torch.cat([x, -x], dim=1)
    y = 0.7 * x - 0.2 + noise * torch.randn(x.shape, generator=g, dtype=torch.float64)
    return list(zip(x, y, strict=True))


def fit_chunk(layer, x, y, noise: float, kl_weight: float) -> None:
    """Minimise `chunk_loss` with the expected Gaussian NLL in closed form,
    E_q[(y − wx − b)²] = (y − μ_w x − μ_b)² + σ_w² x² + σ_b², from where q stands."""
    optimizer = torch.optim.LBFGS(
        layer.parameters(), max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-14
    )

    def closure():
        optimizer.zero_grad()
        mean = layer.weight[0, 0] * x + layer.bias[0]
        var = torch.exp(2 * layer.weight_log_sigma[0, 0]) * x**2 + torch.exp(
            2 * layer.bias_log_sigma[0]
        )
        nll = (((y - mean) ** 2 + var) / (2 * noise**2)).mean()
        loss = chunk_loss(nll, layer.kl(), len(x), kl_weight)
        loss.backward()
        return loss

    for _ in range(5):
        optimizer.step(closure)


def sequential_posterior(config: BayesIncrementalConfig, noise: float = 0.5):
    """Mean and variance of (w, b) after the chunk-by-chunk update: each chunk starts from the
    previous posterior, which is also its prior."""
    torch.manual_seed(0)
    layer = GaussianPriorLinear(1, 1, config.prior_std, config.log_sigma_init).double()
    for x, y in conjugate_chunks(noise=noise):
        fit_chunk(layer, x, y, noise, config.kl_weight)
        layer.set_prior_to_posterior()
    with torch.no_grad():
        mean = torch.stack([layer.weight[0, 0], layer.bias[0]])
        var = torch.exp(2 * torch.stack([layer.weight_log_sigma[0, 0], layer.bias_log_sigma[0]]))
    return mean, var


def exact_posterior(prior_std: float, noise: float = 0.5):
    """Bayes' rule on all the data at once (Σx = 0: w and b are independent a posteriori)."""
    x = torch.cat([x for x, _ in conjugate_chunks(noise=noise)])
    y = torch.cat([y for _, y in conjugate_chunks(noise=noise)])
    precision = torch.stack([(x**2).sum(), torch.tensor(float(len(x)), dtype=x.dtype)])
    precision = 1 / prior_std**2 + precision / noise**2
    mean = torch.stack([(x * y).sum(), y.sum()]) / noise**2 / precision
    return mean, 1 / precision


@pytest.mark.parametrize("experiment", sorted(study_bayes_configs()))
def test_chunk_by_chunk_update_at_the_study_setting_is_the_all_data_posterior(experiment):
    """Bayes' rule is sequential: at the study's KL weight the update of `chunk_loss` must end,
    on a conjugate model, at the posterior of all the data (mean and variance)."""
    config = study_bayes_configs()[experiment]
    mean, var = sequential_posterior(config)
    exact_mean, exact_var = exact_posterior(config.prior_std)
    torch.testing.assert_close(mean, exact_mean, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(var, exact_var, rtol=1e-5, atol=1e-9)


def test_a_kl_weight_below_one_is_not_bayes_rule():
    """β = 0.01 counts every example a hundred times: the posterior variance shrinks ~100-fold."""
    config = BayesIncrementalConfig(kl_weight=0.01)
    _, var = sequential_posterior(config)
    _, exact_var = exact_posterior(config.prior_std)
    assert torch.all(var < 0.05 * exact_var)
