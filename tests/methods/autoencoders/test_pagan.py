"""PAGAN: its augmentation, which discriminator each variant trains on which pairs, that the
discriminator objective and the generator loss share their draws and touch only their own
parameters."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from methodlib.data.augment import augment
from methodlib.methods.autoencoders.pagan import PAGAN, side_by_side
from tests.methods.autoencoders.autoencoding_helpers import blobs, build, train


def test_augment_is_a_crop_of_the_reflect_padded_image():
    torch.manual_seed(0)
    x = torch.rand(16, 2, 20, 10)
    out = augment(x)
    padded = F.pad(x, (1, 1, 2, 2), mode="reflect")  # 10 % of 20 and of 10
    offsets = set()
    for image, source in zip(out, padded, strict=True):
        matches = [
            (dy, dx)
            for dy in range(5)
            for dx in range(3)
            if torch.equal(image, source[:, dy : dy + 20, dx : dx + 10])
        ]
        assert matches, "every augmented image is a crop of its padded original"
        offsets.add(matches[0])
    assert len(offsets) > 1, "offsets are drawn per image"


def test_pairs_are_laid_side_by_side():
    x, y = torch.zeros(2, 1, 8, 8), torch.ones(2, 1, 8, 8)
    pair = side_by_side(x, y)
    assert pair.shape == (2, 1, 8, 16) and pair[..., :8].sum() == 0 and pair[..., 8:].min() == 1


@pytest.mark.parametrize(
    ("variant", "discriminators"),
    [
        ("full", {"image", "latent", "pair"}),
        ("no_augmentation", {"image", "latent", "pair"}),
        ("pixel_reconstruction", {"image", "latent"}),
    ],
)
def test_each_variant_builds_the_discriminators_it_trains(variant, discriminators):
    method, model = build(PAGAN, variant=variant)
    assert set(model.discriminators) == discriminators
    contests, penalty = method.contests(model, blobs(4))
    assert {c.discriminator for c in contests} == discriminators
    assert isinstance(penalty, torch.Tensor) == (variant == "pixel_reconstruction")


def test_without_augmentation_the_real_pairs_are_the_image_twice():
    torch.manual_seed(0)
    method, model = build(PAGAN, variant="no_augmentation")
    x = blobs(4)
    (pair,) = [c for c in method.contests(model, x)[0] if c.discriminator == "pair"]
    torch.testing.assert_close(pair.real[0], side_by_side(x, x))


@pytest.mark.parametrize("variant", ["full", "no_augmentation"])
def test_mismatched_pairs_teach_the_pair_discriminator_only(variant):
    torch.manual_seed(0)
    method, model = build(PAGAN, variant=variant, mismatched_pairs=True)
    x = blobs(4)
    pairs = [c for c in method.contests(model, x)[0] if c.discriminator == "pair"]
    (lesson,) = [c for c in pairs if c.weight == 0]
    (contest,) = [c for c in pairs if c.weight > 0]
    torch.testing.assert_close(lesson.real[0], contest.real[0])
    target = contest.real[0][..., 8:]  # a(x), or x without augmentation
    torch.testing.assert_close(lesson.fake[0], side_by_side(x, target.roll(1, dims=0)))
    # the G and E loss is that of the same draws without the lesson (in eval mode: a training
    # forward would move the spectral norms' power iterations between the two calls)
    model.eval()
    torch.manual_seed(1)
    with_lesson = method.losses(model, x)
    torch.manual_seed(1)
    method.config = method.config.model_copy(update={"mismatched_pairs": False})
    torch.testing.assert_close(method.losses(model, x), with_lesson)


def test_max_std_caps_the_encoder_scale():
    torch.manual_seed(0)
    _, model = build(PAGAN, max_std=0.1)
    model.encoder.head.bias.data.fill_(5.0)  # asks for σ = e^2.5
    _, log_var = model.encoder(blobs(4))
    torch.testing.assert_close(log_var, torch.full_like(log_var, 2 * math.log(0.1)))
    _, unbounded = build(PAGAN)
    unbounded.encoder.head.bias.data.fill_(5.0)
    assert unbounded.encoder(blobs(4))[1].min() > 4


def test_the_discriminator_objective_and_the_loss_share_draws_and_split_the_parameters():
    torch.manual_seed(0)
    method, model = build(PAGAN)
    (objective,) = method.objectives(model)
    assert objective.name == "disc" and objective.lr == method.config.discriminator_lr
    x, y = blobs(8), torch.zeros(8)
    objective.loss(model, x, y, None).backward()
    assert all(p.grad is not None for p in model.discriminator_parameters())
    assert all(p.grad is None for p in model.generator_parameters())
    disc_grads = [p.grad.clone() for p in model.discriminator_parameters()]
    rng = torch.get_rng_state()
    loss = method.loss(model, x, y, None)
    assert torch.equal(torch.get_rng_state(), rng), "G and E are scored on the same draws"
    loss.backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    assert all(p.grad is not None for p in model.generator.parameters())
    for before, p in zip(disc_grads, model.discriminator_parameters(), strict=True):
        assert torch.equal(before, p.grad), "G's step leaves the discriminators' grads alone"
    method.loss(model, x, y, None)
    assert not torch.equal(torch.get_rng_state(), rng), "alone, the loss draws anew"


def test_the_pixel_ablation_learns_to_reconstruct():
    torch.manual_seed(0)
    method, model = build(PAGAN, variant="pixel_reconstruction")
    x = blobs(32)
    model.eval()
    start = (method.reconstruct(model, x) - x).pow(2).mean()
    model.train()
    train(method, model, x, 60)
    model.eval()
    assert (method.reconstruct(model, x) - x).pow(2).mean() < 0.5 * start


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_samples_and_reconstructions_are_images_in_the_unit_cube(shape):
    torch.manual_seed(0)
    method, model = build(PAGAN, shape=shape)
    model.eval()
    for out in (method.generate(model, 3, "cpu"), method.reconstruct(model, blobs(3, shape))):
        assert out.shape == (3, *shape) and out.min() >= 0 and out.max() <= 1
