"""The judge classifier behind `fid_judge`: trained on a prepared dataset, its penultimate
features, and the Fréchet distance of image sets in them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from methodlib.data import load_prepared
from methodlib.judge import judge_features, load_judge, train_judge
from methodlib.metrics.generative import frechet_distance
from methodlib.tasks.generation_eval import generation_metrics


@pytest.fixture(scope="module")
def judge(tmp_path_factory, data_root):
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("judge") / "model.pt"
    record = train_judge(data_root / "digits", path, epochs=3)
    assert record["val_accuracy"] > 0.5, "a judge that cannot classify judges nothing"
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
