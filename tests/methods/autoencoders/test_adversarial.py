"""The adversarial autoencoders in the shared loop: the discriminators are an extra objective
whose rate follows the experiment's schedule from `discriminator_lr`, whose loss is checked and
logged, and whose optimizer and schedule resume exactly."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from methodlib.errors import RunError
from methodlib.methods.autoencoders.adversarial import AdversarialMethod
from methodlib.methods.autoencoders.pagan import PAGAN
from methodlib.train import CHECKPOINT, train_run
from tests.conftest import interrupted_in_epoch, tiny_pipeline

DISC_LR = 1e-3
PAGAN_SPEC = {"name": "pagan", "width": 8, "latent_dim": 4, "samples": 8}


def pipeline(method=PAGAN_SPEC, schedule="cosine"):
    return tiny_pipeline(
        model="dcgan",
        method={**method, "discriminator_lr": DISC_LR},
        training={"epochs": 3, "batch_size": 64, "lr": 0.002, "lr_schedule": schedule},
    )


def run(p, tmp_path, data_root, name):
    train_run(p, "exp", 0, tmp_path / name, data_root / "digits", progress=False)
    return tmp_path / name


def weights(run_dir):
    return torch.load(run_dir / "model.pt", weights_only=True)["model"]


def test_interrupted_pagan_resumes_to_the_same_weights(tmp_path, data_root, monkeypatch):
    p = pipeline()
    reference = run(p, tmp_path, data_root, "reference")
    with interrupted_in_epoch(monkeypatch, PAGAN, 1):
        run(p, tmp_path, data_root, "resumed")
    state = torch.load(tmp_path / "resumed" / CHECKPOINT, weights_only=True)
    disc = state["objectives"]["disc"]
    assert disc["optimizer"]["state"], "the discriminators' Adam moments are checkpointed"
    # cosine over 3 epochs, after one: the base rate × (1 + cos(π/3)) / 2
    lr = disc["optimizer"]["param_groups"][0]["lr"]
    assert lr == pytest.approx(DISC_LR * (1 + math.cos(math.pi / 3)) / 2)
    resumed = run(p, tmp_path, data_root, "resumed")
    for name, value in weights(reference).items():
        assert torch.equal(value, weights(resumed)[name]), name
    logs = [pd.read_csv(d / "train_log.csv") for d in (reference, resumed)]
    np.testing.assert_array_equal(logs[0]["disc_loss"], logs[1]["disc_loss"])
    assert (logs[0]["disc_loss"] > 0).all()


def test_the_discriminator_rate_follows_the_schedule(tmp_path, data_root):
    constant = run(pipeline(schedule="constant"), tmp_path, data_root, "constant")
    cosine = run(pipeline(schedule="cosine"), tmp_path, data_root, "cosine")
    first = [pd.read_csv(d / "train_log.csv")["disc_loss"][0] for d in (constant, cosine)]
    assert first[0] == first[1], "the first epoch runs at the base rates under both"
    assert not all(torch.equal(v, weights(cosine)[k]) for k, v in weights(constant).items()), (
        "later epochs differ"
    )


def test_a_non_finite_discriminator_loss_stops_with_epoch_and_step(
    tmp_path, data_root, monkeypatch
):
    original = AdversarialMethod.discriminator_loss

    def diverging(self, model, x, y, ctx):
        loss = original(self, model, x, y, ctx)
        return loss * float("inf") if (ctx.epoch, ctx.step) == (1, 2) else loss

    monkeypatch.setattr(AdversarialMethod, "discriminator_loss", diverging)
    ali = {"name": "ali", "width": 8, "latent_dim": 4, "samples": 8}
    p = tiny_pipeline(model="dcgan", method=ali, training={"epochs": 2, "batch_size": 32})
    with pytest.raises(RunError, match=r"disc loss is inf at epoch 2, step 3; lower method\."):
        run(p, tmp_path, data_root, "run")
