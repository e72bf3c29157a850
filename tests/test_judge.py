"""The judge classifier behind `fid_judge`: trained on a prepared dataset, its penultimate
features, and the Fréchet distance of image sets in them. It trains as a `dense` run through the
shared loop, on batches shifted by PAGAN's augmentation, on the device it is given."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import methodlib.judge
import methodlib.loop
from methodlib.data import load_prepared
from methodlib.data.augment import PAD_FRACTION, augment
from methodlib.errors import RunError
from methodlib.judge import ShiftedDense, judge_features, load_judge, train_judge
from methodlib.judge_recipes import IMAGE_JUDGE
from methodlib.methods import DataInfo
from methodlib.methods.pruning.dense import Dense
from methodlib.metrics.generative import frechet_distance
from methodlib.routines.generation_eval import generation_metrics


@pytest.fixture(scope="module")
def judge(tmp_path_factory, data_root):
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("judge") / "model.pt"
    record = train_judge(data_root / "digits", path, epochs=6, device="cpu")
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
    calls, fit = [], methodlib.loop.fit

    def recording(method, model, training, *args, **kwargs):
        calls.append((method.name, method.model_name, training))
        return fit(method, model, training, *args, **kwargs)

    monkeypatch.setattr(methodlib.loop, "fit", recording)
    train_judge(data_root / "digits", tmp_path / "judge.pt", epochs=1, device="cpu")
    ((name, model, training),) = calls
    assert (name, model) == ("dense", "lenet5")
    assert (training.epochs, training.batch_size, training.lr) == (1, 128, 1e-3)
    assert training.lr_schedule == "constant" and training.optimizer == "adam"


def test_the_judge_trains_on_batches_shifted_by_pagans_augmentation(
    tmp_path, data_root, monkeypatch
):
    assert IMAGE_JUDGE.shift_fraction == PAD_FRACTION, "the shifts PAGAN's pairs are drawn with"
    seen = []

    def recording(x, fraction):
        shifted = augment(x, fraction)
        seen.append((x, shifted, fraction))
        return shifted

    monkeypatch.setattr(methodlib.judge, "augment", recording)
    record = train_judge(data_root / "digits", tmp_path / "judge.pt", epochs=1, device="cpu")
    train = load_prepared(data_root / "digits", standardise=False).train
    trained_on = sum(len(x) for x, _, _ in seen[:-1])  # the last call shifts the validation split
    assert trained_on == len(train) and {f for _, _, f in seen} == {PAD_FRACTION}
    x, shifted, _ = seen[0]
    moved = (shifted != x).flatten(1).any(1).float().mean().item()
    assert moved > 0.5, "most images of a batch are moved"
    assert 0 <= record["val_accuracy_shifted"] <= 1
    assert record["recipe"]["shift_fraction"] == PAD_FRACTION


def test_a_shifted_batch_is_a_crop_of_the_reflect_padded_images():
    method = ShiftedDense(Dense.Config(), "lenet5", DataInfo((1, 28, 28), 10, 1))
    x = torch.rand(16, 1, 28, 28)
    shifted, pad = method.batch(x), 3  # round(0.1 × 28): PAGAN's ±3 pixels on mnist
    assert not torch.equal(shifted, x), "the judge's batches are moved"
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
    for image, out in zip(padded, shifted, strict=True):
        crops = [image[:, dy : dy + 28, dx : dx + 28] for dy in range(7) for dx in range(7)]
        assert any(torch.equal(out, crop) for crop in crops)


def test_a_judge_on_a_missing_gpu_is_refused(tmp_path, data_root):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(RunError, match="CUDA is not available"):
        train_judge(data_root / "digits", tmp_path / "judge.pt", epochs=1, device="cuda")
