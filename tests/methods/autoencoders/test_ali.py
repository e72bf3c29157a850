"""ALI: one joint discriminator on (x, E(x)) against (G(z), z), and a G and E loss that
reaches both networks through it."""

from __future__ import annotations

import torch

from methodlib.methods.autoencoders.ali import ALI
from tests.methods.autoencoders.autoencoding_helpers import blobs, build


def test_the_joint_discriminator_sees_encoded_data_against_generated_codes():
    torch.manual_seed(0)
    method, model = build(ALI)
    assert set(model.discriminators) == {"joint"}
    x = blobs(4)
    (contest,), penalty = method.contests(model, x)
    real_x, real_z = contest.real
    fake_x, fake_z = contest.fake
    assert torch.equal(real_x, x) and real_z.shape == fake_z.shape == (4, model.latent_dim)
    torch.testing.assert_close(fake_x, model.generator(fake_z))
    assert contest.real_from_model and penalty == 0.0


def test_the_generator_loss_is_the_swapped_label_loss_of_both_sides():
    torch.manual_seed(0)
    method, model = build(ALI)
    model.eval()  # fixed spectral norms and batch statistics between the two evaluations
    x = blobs(4)
    torch.manual_seed(1)
    losses = method.losses(model, x)
    torch.manual_seed(1)
    (contest,), _ = method.contests(model, x)
    d = model.discriminators["joint"]
    expected = torch.nn.functional.softplus(d(*contest.real)) + torch.nn.functional.softplus(
        -d(*contest.fake)
    )
    torch.testing.assert_close(losses, expected)


def test_the_step_reaches_encoder_and_generator():
    torch.manual_seed(0)
    method, model = build(ALI)
    method.loss(model, blobs(8), torch.zeros(8), None).backward()
    assert all(p.grad is not None for p in model.generator_parameters())
    assert all(p.grad is None for p in model.discriminator_parameters())
