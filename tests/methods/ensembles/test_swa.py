"""`swa`: the average is the mean of the collected weights, batch-norm statistics are the
training data's, the schedule follows the paper's, and a run resumes to the same predictions."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from methodlib.methods import METHODS, DataInfo
from methodlib.methods.ensembles.swa import SWA, SWAConfig
from methodlib.methods.ensembles.weight_averaging import proba_with
from tests.conftest import tiny_pipeline
from tests.methods.ensembles.ensembling_helpers import (
    INFO,
    assert_resume_is_identical,
    context,
    data,
    jiggle,
    parameters,
    probs,
    reloaded,
)


def train_fake(
    method: SWA, model, epochs: int, x_train=None, stop: int | None = None
) -> list[dict[str, torch.Tensor]]:
    """Move the weights and call the hook for each epoch (up to `stop`) of a run of `epochs`;
    return the weights after each."""
    history = []
    for epoch in range(epochs if stop is None else stop):
        jiggle(model, epoch)
        history.append(parameters(model))
        method.on_epoch_end(model, context(epoch, epochs, x_train))
    return history


def test_average_is_the_mean_of_the_weights_after_each_averaged_epoch():
    torch.manual_seed(0)
    method = SWA(SWAConfig(start=0.5), "lenet300_100", INFO)
    model = method.build_model()
    history = train_fake(method, model, epochs=6)
    assert method.moments.n == 3  # epochs 3, 4, 5 (0-based)
    for name in history[0]:
        expected = torch.stack([h[name] for h in history[3:]]).mean(0)
        torch.testing.assert_close(method.averaged[name], expected)
    assert not torch.equal(method.averaged["net.1.weight"], model.net[1].weight)

    x = data(2, n=8)[0]
    model.eval()
    averaged_model = method.build_model().eval()
    averaged_model.load_state_dict(method.averaged)
    expected = F.softmax(averaged_model(x), -1).unsqueeze(0)
    torch.testing.assert_close(method.predict_proba(model, x), expected)


def test_batch_norm_statistics_are_recomputed_on_the_training_data():
    torch.manual_seed(0)
    method = SWA(SWAConfig(start=0.5), "lenet300_100_bn", INFO)
    model = method.build_model()
    x_train = data(3, n=64, shift=3.0)[0]
    train_fake(method, model, epochs=2, x_train=x_train)
    averaged = method.build_model()
    averaged.load_state_dict(method.averaged)
    with torch.no_grad():
        pre_activations = averaged.net[1](averaged.net[0](x_train))
    torch.testing.assert_close(method.averaged["net.2.running_mean"], pre_activations.mean(0))
    assert model.net[2].running_mean.abs().max() < 1e-6, "the trained model is left alone"


def test_schedule_anneals_to_swa_lr_then_holds_it_or_cycles():
    from methodlib.methods.base import StepContext

    def factors(config: SWAConfig, epochs: int = 20) -> list[float]:
        method = SWA(config, "lenet300_100", INFO)
        return [
            method.lr_factor(StepContext(e, s, 10, epochs, 640))
            for e in range(epochs)
            for s in range(10)
        ]

    constant = factors(SWAConfig(start=0.75, swa_lr=0.2))
    # averaging starts at epoch 15: constant up to epoch 7.5, linear to 0.2 at epoch 13.5
    assert constant[:76] == [1.0] * 76
    assert constant[105] == pytest.approx(1.0 - 0.8 * (10.5 / 15 - 0.5) / 0.4)
    assert constant[135:] == [pytest.approx(0.2)] * 65
    cyclic = factors(SWAConfig(start=0.75, swa_lr=0.2, schedule="cyclic", cycle_epochs=2))
    assert cyclic[:150] == constant[:150]
    assert cyclic[150] == cyclic[170] == cyclic[190] == 1.0
    assert cyclic[169] == pytest.approx(1.0 - 0.8 * 19 / 20)


def test_cyclic_averages_at_cycle_ends_and_the_last_epoch():
    method = SWA(SWAConfig(start=0.5, schedule="cyclic", cycle_epochs=3), "lenet300_100", INFO)
    averaged = [e for e in range(10) if method.averages_after(e, 10)]
    assert averaged == [7, 9]


def test_before_the_first_average_the_model_predicts_and_the_comparison_is_reported():
    torch.manual_seed(0)
    method = SWA(SWAConfig(start=0.5), "lenet300_100", INFO)
    model = method.build_model().eval()
    x = data(2, n=8)[0]
    own = F.softmax(model(x), -1).unsqueeze(0)
    torch.testing.assert_close(method.predict_proba(model, x), own)
    assert method.run_metrics(model) == {}
    train_fake(method, model, epochs=4)
    metrics = method.run_metrics(model)
    ctx = context(3, 4)
    model.eval()
    final_accuracy = (model(ctx.x_val).argmax(1) == ctx.y_val).float().mean().item()
    assert metrics["final_iterate_val_accuracy"] == pytest.approx(final_accuracy)
    swa_probs = proba_with(model, method.averaged, ctx.x_val)
    swa_accuracy = (swa_probs.argmax(1) == ctx.y_val).float().mean().item()
    assert metrics["swa_val_accuracy"] == pytest.approx(swa_accuracy)
    assert set(metrics) >= {"final_iterate_val_nll", "swa_val_nll"}


def test_state_round_trip_continues_the_same_average():
    torch.manual_seed(0)
    method = SWA(SWAConfig(start=0.25), "lenet300_100_bn", INFO)
    model = method.build_model()
    train_fake(method, model, epochs=5, stop=3)
    assert method.moments.n == 2
    fresh = reloaded(method)
    assert fresh.run_metrics(model) == method.run_metrics(model)
    jiggle(model, 99)
    for m in (method, fresh):
        m.on_epoch_end(model, context(3, 5))
    assert fresh.moments.n == method.moments.n == 3
    x = data(2, n=8)[0]
    torch.testing.assert_close(fresh.predict_proba(model, x), method.predict_proba(model, x))
    method.on_epoch_end(model, context(4, 5))
    assert reloaded(method).run_metrics(model) == method.run_metrics(model) != {}


def test_end_to_end_run_resumes_and_reports_both_accuracies(tmp_path, data_root, monkeypatch):
    pipeline = tiny_pipeline(
        model="lenet5_bn", method={"name": "swa", "start": 0.5}, training={"epochs": 4}
    )
    reference = assert_resume_is_identical(pipeline, tmp_path, data_root, monkeypatch)
    assert probs(reference).shape[0] == 1
    stats = json.loads((reference / "run.json").read_text())["model_stats"]
    assert 0 <= stats["swa_val_accuracy"] <= 1 and 0 <= stats["final_iterate_val_accuracy"] <= 1
    log = (reference / "train_log.csv").read_text().splitlines()
    assert [row.split(",")[-1] for row in log[1:]] == ["0", "0", "1", "2"]


def test_the_final_iterate_variant_predicts_with_the_trained_weights():
    cls = METHODS["swa"]
    model_name = "lenet300_100"
    info = DataInfo(input_shape=(1, 8, 8), n_classes=10, n_train=64)
    final = cls(cls.Config(predict_with="final_iterate"), model_name, info)
    model = final.build_model().eval()
    final.averaged = {k: torch.zeros_like(v) for k, v in model.state_dict().items()}
    x = torch.randn(4, 1, 8, 8)
    torch.testing.assert_close(final.predict_proba(model, x)[0], torch.softmax(model(x), -1))
    average = cls(cls.Config(), model_name, info)
    average.averaged = final.averaged  # all-zero weights: uniform probabilities
    torch.testing.assert_close(average.predict_proba(model, x)[0], torch.full((4, 10), 0.1))
