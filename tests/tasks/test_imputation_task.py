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

    assert TASK.needs_judge(Spec()) and TASK.evaluation_reads_data(Spec())
    Spec.source = "sklearn_tabular"
    assert not TASK.needs_judge(Spec()) and not TASK.evaluation_reads_data(Spec())


def test_image_evaluation_counts_judge_classes_on_the_ambiguous_halves(tmp_path, monkeypatch):
    """`judge_classes_ambiguous` averages over the test digits whose observed half the
    training split shares between classes (the prepared data's labels); a fake judge that
    labels an image by its bottom-right pixel makes the count known."""
    import methodlib.judge as judge_module
    from methodlib.metrics.imputation import AMBIGUITY_NEIGHBOURS

    n_train = AMBIGUITY_NEIGHBOURS + 1
    train = torch.zeros(2 * n_train, 1, 2, 2)
    train[n_train:, 0, 0, :] = 1.0  # tops (1, 1): two classes; tops (0, 0): one
    labels = torch.tensor([0] * n_train + [1 + i % 2 for i in range(n_train)])
    d = prepared(split(train, labels), split(train[:2]), split(train[:2]))
    truth = np.zeros((2, 1, 2, 2))
    truth[1, 0, 0, :] = 1.0  # example 1 is ambiguous
    missing = np.zeros_like(truth, dtype=bool)
    missing[:, :, 1, :] = True
    imputations = np.repeat(truth[None], 3, axis=0)
    imputations[:, :, 0, 1, 1] = np.array([0, 1, 2])[:, None]  # 3 classes per example
    imputations[:, 0, 0, 1, 1] = 0  # example 0: one class
    write_npz(tmp_path / "predictions.npz", truth=truth, missing=missing, imputations=imputations)
    monkeypatch.setattr(judge_module, "load_judge", lambda path: None)
    monkeypatch.setattr(
        judge_module,
        "judge_probs",
        lambda model, x: np.eye(3)[np.asarray(x)[:, 0, 1, 1].astype(int)],
    )
    monkeypatch.setattr("methodlib.data.load_prepared", lambda folder, **kw: d)
    metrics = ROUTINE.evaluate(tmp_path, record("imputation"), "judge.pt", "data")["metrics"]
    assert metrics["judge_classes"] == 2.0  # (1 + 3) / 2
    assert metrics["judge_classes_ambiguous"] == 3.0 and metrics["ambiguous_share"] == 0.5


def test_the_diversity_claims_compare_samplers_on_the_ambiguous_halves():
    """A deterministic imputer has one judge class per digit by construction, so any sampler
    beats it; the default study's diversity claims name the halves the paper's statement is
    about and a sampler (every arm draws K imputations) on the other side."""
    from pathlib import Path

    from methodlib.spec import load_pipeline

    pipeline = load_pipeline(Path(__file__).resolve().parents[2] / "pipeline.yaml")
    diversity = {
        name: claim
        for name, claim in pipeline.claims.items()
        if any(m.startswith("judge_classes") for m in claim.metrics)
    }
    assert diversity
    for name, claim in diversity.items():
        assert claim.metrics == ["judge_classes_ambiguous"], name
        for arm in claim.arms():
            members = pipeline.selections[arm].members if arm in pipeline.selections else [arm]
            for member in members:
                method = pipeline.experiments[member].method
                assert getattr(method, "imputations", 1) > 1, f"{name}: {member} is deterministic"


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
