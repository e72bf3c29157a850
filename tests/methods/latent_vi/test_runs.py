"""A latent-VAE run through the shared loop: the generation task calls `score_test` after
training, and the test scores reach run.json's `model_stats` (metrics.json takes them from
there); robust VI's dataset carries its noise, its test split does not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from methodlib.data import load_prepared, prepare_dataset
from methodlib.spec import validate_pipeline
from methodlib.train import train_run

DIGITS = {"source": "digits", "limit": 300, "split": {"val": 0.2, "test": 0.2, "seed": 0}}


def pipeline(method: dict, noise_share: float = 0.0):
    return validate_pipeline(
        {
            "defaults": {"device": "cpu", "training": {"epochs": 1, "batch_size": 50}},
            "datasets": {"digits": DIGITS | {"noise_share": noise_share}},
            "experiments": {"exp": {"dataset": "digits", "model": "vae_mlp", "method": method}},
        }
    )


@pytest.mark.parametrize(
    "method",
    [
        {"name": "gaussian_vae", "hidden": 16, "eval_samples": 4},
        {"name": "iwhvi", "hidden": 16, "eval_samples": 4, "k": 2, "eval_k": 2},
    ],
)
def test_test_scores_reach_the_run_record(method, tmp_path):
    p = pipeline(method)
    prepare_dataset("digits", p.datasets["digits"], tmp_path / "data")
    train_run(p, "exp", 0, tmp_path / "run", data_dir=tmp_path / "data", progress=False)
    stats = json.loads((tmp_path / "run" / "run.json").read_text())["model_stats"]
    assert np.isfinite(stats["test_ll"]) and stats["test_ll"] < 0
    if method["name"] == "iwhvi":
        assert {"logq_gap_k100", "sivi_logq_gap_k10", "iwhvi10_sivi100_margin"} <= set(stats)


def test_noise_share_dirties_training_and_validation_images_only(tmp_path):
    clean = pipeline({"name": "gaussian_vae"})
    noisy = pipeline({"name": "gaussian_vae"}, noise_share=0.5)
    prepare_dataset("digits", clean.datasets["digits"], tmp_path / "clean")
    prepare_dataset("digits", noisy.datasets["digits"], tmp_path / "noisy")
    a, b = load_prepared(tmp_path / "clean", False), load_prepared(tmp_path / "noisy", False)
    np.testing.assert_array_equal(a.test.x.numpy(), b.test.x.numpy())
    changed = (a.train.x != b.train.x).flatten(1).any(1).float().mean().item()
    assert changed == pytest.approx(0.5, abs=0.02)
    assert clean.dataset_hash("digits") != noisy.dataset_hash("digits")
