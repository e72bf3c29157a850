"""The classification task's hooks: the validation columns of the method's validation
prediction, test outputs with the samples axis (and the out-of-domain split's), and the
evaluation of saved probabilities: every metric, the curve against the samples and the
reliability bins."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from methodlib.errors import RunError
from methodlib.io import write_npz
from methodlib.methods import DataInfo
from methodlib.methods.ensembles.mc_dropout import MCDropout
from methodlib.methods.pruning.dense import Dense
from methodlib.routines import get_routine
from methodlib.routines.classification import predict
from methodlib.tasks import get_task
from tests.tasks.task_helpers import prepared, record, split

TASK = get_task("classification")
ROUTINE = get_routine("classification")
INFO = DataInfo(input_shape=(1, 8, 8), n_classes=4, n_train=40)


def data(ood: bool = True):
    g = torch.Generator().manual_seed(0)

    def part(n):
        return split(torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 4, (n,), generator=g))

    return prepared(part(40), part(30), part(20), ood=part(10) if ood else None)


def method(cls=Dense, **fields):
    torch.manual_seed(0)
    m = cls(cls.Config(name=cls.name, **fields), "lenet300_100", INFO)
    return m, m.build_model()


def test_classifiers_see_standardised_inputs():
    assert TASK.standardise_inputs


def test_validation_columns_are_nll_and_accuracy_of_the_validation_prediction():
    m, model = method()
    d = data()
    columns = ROUTINE.validation_columns(m, model, d, batch_size=7, device="cpu")
    assert set(columns) == {"val_nll", "val_accuracy"}
    with torch.no_grad():
        probs = torch.softmax(model(d.val.x), -1)
    expected = torch.nn.functional.nll_loss(probs.log(), d.val.y).item()
    assert columns["val_nll"] == pytest.approx(expected, rel=1e-5)
    assert columns["val_accuracy"] == (probs.argmax(1) == d.val.y).float().mean().item()


def test_predict_in_batches_equals_one_batch():
    m, model = method()
    d = data()
    whole = predict(m, model, d.test, batch_size=100, device="cpu")
    torch.testing.assert_close(predict(m, model, d.test, batch_size=3, device="cpu"), whole)


@pytest.mark.parametrize("ood", [True, False])
def test_test_outputs_have_a_samples_axis_and_the_ood_split_where_there_is_one(ood):
    m, model = method(MCDropout, samples=3)
    outputs = ROUTINE.test_outputs(m, model, data(ood), batch_size=8, device="cpu")
    assert outputs["probs"].shape == (3, 20, 4)
    np.testing.assert_allclose(outputs["probs"].sum(-1), 1.0, atol=1e-5)
    assert outputs["labels"].shape == (20,)
    assert ("ood_probs" in outputs) == ood
    if ood:
        assert outputs["ood_probs"].shape == (3, 10, 4)


def test_evaluate_gives_every_metric_the_curve_reliability_and_risk_coverage(tmp_path):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=(5, 30)).astype(np.float32)
    ood = rng.dirichlet(np.ones(4), size=(5, 12)).astype(np.float32)
    write_npz(
        tmp_path / "predictions.npz", probs=probs, labels=rng.integers(0, 4, 30), ood_probs=ood
    )
    result = ROUTINE.evaluate(tmp_path, record("classification"), judge=None, data=None)
    assert list(result) == [
        "experiment",
        "seed",
        "config_hash",
        "samples",
        "metrics",
        "curve",
        "reliability",
        "risk_coverage",
    ]
    assert result["samples"] == 5
    assert [point["samples"] for point in result["curve"]] == [1, 2, 4, 5]
    metrics = result["metrics"]
    assert metrics["n_samples"] == 5 and metrics["params"] == 10 and metrics["train_seconds"] == 1.5
    assert 0 <= metrics["ood_auroc"] <= 1
    assert metrics["test_nll"] == result["curve"][-1]["metrics"]["test_nll"]
    assert 0 <= metrics["test_eaurc"] <= metrics["test_aurc"] <= 1
    assert len(result["risk_coverage"]) == 30  # every coverage k/30 of the 30 examples
    assert result["risk_coverage"][-1]["risk"] == pytest.approx(metrics["test_error"])


def test_an_unreadable_predictions_file_says_to_rerun_its_training_job(tmp_path):
    from methodlib.routines.classification_eval import read_predictions

    path = tmp_path / "predictions.npz"
    with pytest.raises(RunError, match="unreadable .*rerun that training job"):
        read_predictions(path)
    write_npz(path, probs=np.zeros((1, 2, 3)))
    with pytest.raises(RunError, match="labels is not a file.*rerun that training job"):
        read_predictions(path)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 cut short"], ids=["empty", "truncated"])
def test_an_empty_or_cut_short_predictions_file_says_to_rerun_too(tmp_path, content):
    from methodlib.routines.classification_eval import read_predictions

    path = tmp_path / "predictions.npz"
    path.write_bytes(content)
    with pytest.raises(RunError, match="unreadable .*rerun that training job"):
        read_predictions(path)
