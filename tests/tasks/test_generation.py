"""The generation task's hooks: models see the data as they are, the validation loss on a
fixed draw, samples and (autoencoders) reconstructions as test outputs, and the evaluation of
saved samples (one model: no curve), with the augmentation floor of the reconstructions' RID."""

from __future__ import annotations

import numpy as np
import torch

from methodlib.data.augment import augment
from methodlib.io import write_npz
from methodlib.methods import DataInfo
from methodlib.methods.autoencoders.vae import VAE
from methodlib.methods.diffusion.ddpm import DDPM
from methodlib.routines import get_routine
from methodlib.routines.generation_eval import reconstruction_rids
from methodlib.tasks import get_task
from tests.tasks.task_helpers import prepared, record, split

TASK = get_task("generation")
ROUTINE = get_routine("generation")


def test_models_of_the_data_see_them_unstandardised():
    assert not TASK.standardise_inputs


def test_validation_loss_is_the_same_for_the_same_model():
    torch.manual_seed(0)
    m = DDPM(DDPM.Config(name="ddpm", steps=5), "mlp_denoiser", DataInfo((3,), 1, 20, "simplex"))
    model = m.build_model()
    x = torch.distributions.Dirichlet(torch.ones(3)).sample((20,))
    d = prepared(split(x), split(x[:10]), split(x[10:]))
    first = ROUTINE.validation_columns(m, model, d, batch_size=4, device="cpu")
    assert list(first) == ["val_loss"]
    assert ROUTINE.validation_columns(m, model, d, batch_size=4, device="cpu") == first


def test_test_outputs_are_samples_reference_and_reconstructions_for_autoencoders():
    torch.manual_seed(0)
    x = torch.rand(12, 1, 8, 8)
    d = prepared(split(x), split(x), split(x[:5]))
    m = VAE(VAE.Config(name="vae", latent_dim=4, samples=7), "dcgan", DataInfo((1, 8, 8), 10, 12))
    outputs = ROUTINE.test_outputs(m, m.build_model(), d, batch_size=3, device="cpu")
    assert outputs["samples"].shape == (7, 1, 8, 8)
    np.testing.assert_array_equal(outputs["reference"], x[:5].numpy())
    assert outputs["reconstructions"].shape == (5, 1, 8, 8)
    ddpm = DDPM(DDPM.Config(name="ddpm", steps=3), "mlp_denoiser", DataInfo((3,), 1, 12, "simplex"))
    vectors = torch.distributions.Dirichlet(torch.ones(3)).sample((6,))
    d = prepared(split(vectors), split(vectors), split(vectors))
    outputs = ROUTINE.test_outputs(ddpm, ddpm.build_model(), d, batch_size=4, device="cpu")
    assert set(outputs) == {"samples", "reference"} and outputs["samples"].shape == (6, 3)


def test_evaluate_scores_samples_against_the_reference(tmp_path):
    rng = np.random.default_rng(0)
    reference = rng.dirichlet(np.ones(3), 40).astype(np.float32)
    write_npz(tmp_path / "predictions.npz", samples=reference[::-1].copy(), reference=reference)
    result = ROUTINE.evaluate(
        tmp_path, record("generation", domain="simplex"), judge=None, data=None
    )
    assert result["samples"] == 1 and result["curve"] == [] and "reliability" not in result
    metrics = result["metrics"]
    assert metrics["out_of_domain"] == 0.0 and metrics["n_generated"] == 40
    assert metrics["sliced_w"] < 1e-6  # the same points in another order
    assert list(metrics)[-2:] == ["params", "train_seconds"]


class _Judge(torch.nn.Module):
    """Class probabilities from the mean brightness of each image's left half."""

    def forward(self, x):
        left = x[..., : x.shape[-1] // 2].mean((1, 2, 3))
        return torch.stack([left, 1 - left], 1).log()


def test_rid_of_the_augmentation_is_a_fixed_draw(monkeypatch):
    import methodlib.judge

    monkeypatch.setattr(
        methodlib.judge,
        "judge_probs",
        lambda judge, x: judge(torch.as_tensor(np.asarray(x))).exp().numpy(),
    )
    reference = np.random.default_rng(0).random((16, 1, 8, 8)).astype(np.float32)
    first = reconstruction_rids(_Judge(), reference, reference)
    torch.manual_seed(123)  # the global stream does not matter: the draw is seeded
    assert reconstruction_rids(_Judge(), reference, reference) == first
    with torch.random.fork_rng():
        torch.manual_seed(0)
        augmented = augment(torch.as_tensor(reference))
    assert not np.array_equal(augmented.numpy(), reference)
