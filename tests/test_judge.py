"""The judge classifier behind `fid_judge`: trained on a prepared dataset, its penultimate
features, and the Fréchet distance of image sets in them. It trains as a `dense` run through the
shared loop, on the device it is given."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import methodlib.train
from methodlib.data import load_prepared
from methodlib.errors import RunError
from methodlib.judge import judge_features, load_judge, train_judge
from methodlib.metrics.generative import frechet_distance
from methodlib.tasks.generation_eval import generation_metrics


@pytest.fixture(scope="module")
def judge(tmp_path_factory, data_root):
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("judge") / "model.pt"
    record = train_judge(data_root / "digits", path, epochs=3, device="cpu")
    assert record["val_accuracy"] > 0.5, "a judge that cannot classify judges nothing"
    assert record["provenance"]["device"] == "cpu"
    return path


def test_features_are_the_penultimate_layer(judge, data_root):
    model = load_judge(judge)
    images = load_prepared(data_root / "digits", standardise=False).test.x.numpy()
    features = judge_features(model, images)
    assert features.shape == (len(images), 500) and (features >= 0).all()  # after ReLU
    logits = model.classifier[-1](torch.as_tensor(features, dtype=torch.float32))
    torch.testing.assert_close(logits, model(torch.as_tensor(images)), atol=1e-4, rtol=1e-4)


def test_fid_of_identical_sets_is_zero_and_noise_is_far_from_real_digits(judge, data_root):
    data = load_prepared(data_root / "digits", standardise=False)
    test, train = data.test.x.numpy(), data.train.x.numpy()
    features = judge_features(load_judge(judge), test)
    assert abs(frechet_distance(features, features)) < 1e-6
    same = generation_metrics(test, test, "cube", judge)
    real = generation_metrics(train, test, "cube", judge)
    noise = np.random.default_rng(0).uniform(0, 1, test.shape).astype(np.float32)
    other = generation_metrics(noise, test, "cube", judge)
    assert abs(same["fid_judge"]) < 1e-6
    assert other["fid_judge"] > 5 * real["fid_judge"]
    assert "sym_kl" not in same, "no k-NN KL in image dimensions"


def test_the_judge_is_a_dense_run_of_the_shared_loop(tmp_path, data_root, monkeypatch):
    calls, fit = [], methodlib.train.fit

    def recording(method, model, training, *args, **kwargs):
        calls.append((method.name, method.model_name, training))
        return fit(method, model, training, *args, **kwargs)

    monkeypatch.setattr(methodlib.train, "fit", recording)
    train_judge(data_root / "digits", tmp_path / "judge.pt", epochs=1, device="cpu")
    ((name, model, training),) = calls
    assert (name, model) == ("dense", "lenet5")
    assert (training.epochs, training.batch_size, training.lr) == (1, 128, 1e-3)
    assert training.lr_schedule == "constant" and training.optimizer == "adam"


def test_a_judge_on_a_missing_gpu_is_refused(tmp_path, data_root):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(RunError, match="CUDA is not available"):
        train_judge(data_root / "digits", tmp_path / "judge.pt", epochs=1, device="cuda")
