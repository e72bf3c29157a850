"""The shared training loop on the generation task: what it writes, resuming to identical
samples, no outputs after an interruption, and the evaluation of the saved samples."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from methodlib.data import prepare_dataset
from methodlib.evaluate import evaluate_run
from methodlib.methods.diffusion.ss_ddpm import SSDDPM
from methodlib.spec import validate_pipeline
from methodlib.train import CHECKPOINT, train_run
from tests.conftest import interrupted_in_epoch

OUTPUTS = ("predictions.npz", "model.pt", "train_log.csv", "run.json")
SIMPLEX = {"source": "synthetic", "kind": "simplex", "dim": 3, "n": 300, "components": 2}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def simplex_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("prepared")
    prepare_dataset("simplex3", pipeline().datasets["simplex3"], root / "simplex3")
    return root


def pipeline(**method):
    return validate_pipeline(
        {
            "defaults": {"device": "cpu", "training": {"epochs": 3, "batch_size": 64}},
            "datasets": {"simplex3": SIMPLEX},
            "experiments": {
                "exp": {
                    "dataset": "simplex3",
                    "model": "mlp_denoiser",
                    "method": {"name": "ss_ddpm", "distribution": "dirichlet", "steps": 8} | method,
                }
            },
        }
    )


def run(p, tmp_path, root, name="run"):
    train_run(p, "exp", 0, tmp_path / name, data_dir=root / "simplex3", progress=False)
    return tmp_path / name


def samples(run_dir):
    with np.load(run_dir / "predictions.npz") as data:
        return data["samples"], data["reference"]


def test_outputs_are_samples_beside_the_test_split(tmp_path, simplex_root):
    out = run(pipeline(samples=50), tmp_path, simplex_root)
    for name in OUTPUTS:
        assert (out / name).is_file()
    drawn, reference = samples(out)
    assert drawn.shape == (50, 3) and reference.shape == (60, 3)
    np.testing.assert_allclose(reference.sum(1), 1.0, atol=1e-6)  # unstandardised data
    log = pd.read_csv(out / "train_log.csv")
    assert {"train_loss", "val_loss"} <= set(log.columns) and "val_nll" not in log.columns
    record = json.loads((out / "run.json").read_text())
    assert record["task"] == "generation" and record["domain"] == "simplex"
    metrics = evaluate_run(out)["metrics"]
    assert metrics["out_of_domain"] == 0.0 and metrics["raw_out_of_domain"] == 0.0
    assert np.isfinite(metrics["sym_kl"]) and metrics["sliced_w"] > 0


def test_interrupted_run_resumes_to_the_same_samples(tmp_path, simplex_root, monkeypatch):
    p = pipeline()
    reference = run(p, tmp_path, simplex_root, "reference")

    with interrupted_in_epoch(monkeypatch, SSDDPM, 1):
        run(p, tmp_path, simplex_root, "resumed")
    resumed = tmp_path / "resumed"
    assert (resumed / CHECKPOINT).is_file()
    assert not any((resumed / name).exists() for name in OUTPUTS), "no half-finished outputs"
    run(p, tmp_path, simplex_root, "resumed")
    np.testing.assert_array_equal(samples(reference)[0], samples(resumed)[0])
    assert '"epochs_resumed_from": 1' in (resumed / "run.json").read_text()
    logs = [pd.read_csv(d / "train_log.csv") for d in (reference, resumed)]
    np.testing.assert_allclose(logs[0]["val_loss"], logs[1]["val_loss"])
