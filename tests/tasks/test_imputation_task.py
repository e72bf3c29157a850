"""The imputation task: every method imputes the dataset's test mask, sees the hidden entries
as NaN, and saves truth, mask and imputations in the data's units; the evaluation scores them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from methodlib.errors import RunError
from methodlib.io import write_npz
from methodlib.methods import DataInfo
from methodlib.methods.imputation.mean_impute import MeanImpute
from methodlib.methods.imputation.vaeac import VAEAC
from methodlib.routines import get_routine
from methodlib.tasks import get_task
from tests.tasks.task_helpers import prepared, record, split

TASK = get_task("imputation")
ROUTINE = get_routine("imputation")
MISSING = {"kind": "mcar", "rate": 0.5, "side": "bottom", "size": 4, "seed": 0}


def data(missing=MISSING):
    torch.manual_seed(0)
    x = torch.randn(30, 3)
    d = prepared(split(x[:20]), split(x[20:25]), split(x[25:]))
    d.meta = {"name": "t", "spec": {"missing": missing}, "mean": [1.0, 2.0, 3.0], "std": [2.0] * 3}
    return d


def outputs(method_cls, d, **config):
    method = method_cls(
        method_cls.Config(name=method_cls.name, **config), "imputation_mlp", DataInfo((3,), 1, 20)
    )
    model = method.build_model()
    method.on_train_start(model, d.train.x)
    return ROUTINE.test_outputs(method, model, d, batch_size=2, device="cpu")


def test_every_method_imputes_the_same_mask_and_keeps_observed_entries():
    d = data()
    mean = outputs(MeanImpute, d)
    vaeac = outputs(VAEAC, d, imputations=3)
    np.testing.assert_array_equal(mean["missing"], vaeac["missing"])
    truth = d.test.x.numpy() * 2.0 + np.array([1.0, 2.0, 3.0], dtype=np.float32)
    np.testing.assert_allclose(mean["truth"], truth, rtol=1e-6)
    assert vaeac["imputations"].shape == (3, 5, 3) and mean["imputations"].shape == (1, 5, 3)
    observed = ~mean["missing"]
    for out in (mean, vaeac):
        np.testing.assert_allclose(
            out["imputations"][:, observed],
            np.broadcast_to(truth[observed], out["imputations"][:, observed].shape),
            rtol=1e-6,
        )
    hidden = mean["missing"]
    train_mean = d.train.x.mean(0).numpy() * 2.0 + np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        mean["imputations"][0][hidden], np.broadcast_to(train_mean, truth.shape)[hidden], rtol=1e-5
    )


def test_a_dataset_without_a_mask_is_an_error():
    with pytest.raises(RunError, match="missing"):
        outputs(MeanImpute, data(missing=None))


def test_evaluation_scores_the_saved_imputations(tmp_path):
    truth = np.arange(12.0).reshape(4, 3)
    missing = np.zeros((4, 3), dtype=bool)
    missing[:, 0] = True
    write_npz(
        tmp_path / "predictions.npz", truth=truth, missing=missing, imputations=truth[None] + 1.0
    )
    result = ROUTINE.evaluate(tmp_path, record("imputation"), None, None)
    np.testing.assert_allclose(result["metrics"]["nrmse"], 1.0 / truth[:, 0].std())
    assert result["samples"] == 1 and "psnr_best" not in result["metrics"]


def test_images_need_the_judge_and_tables_do_not():
    class Spec:
        source = "digits"

    assert TASK.needs_judge(Spec())
    Spec.source = "sklearn_tabular"
    assert not TASK.needs_judge(Spec())


def test_an_imputation_experiment_on_a_dataset_without_a_mask_is_refused():
    from methodlib.spec import SpecError, validate_pipeline

    experiment = {"model": "imputation_mlp", "method": {"name": "vaeac"}}
    with pytest.raises(SpecError, match="has no test mask"):
        validate_pipeline(
            {
                "datasets": {"wine": {"source": "sklearn_tabular", "name": "wine"}},
                "experiments": {"e": {"dataset": "wine", **experiment}},
            }
        )
