"""The missingness masks: the test masks of the `missing` kinds and the training masks."""

from __future__ import annotations

import torch

from methodlib.methods.imputation import masks
from methodlib.methods.imputation.masks import half, mcar, rectangle, square, train_mask


def test_mcar_hides_entries_at_its_rate():
    mask = mcar((200, 50), 0.3, torch.Generator().manual_seed(0))
    assert abs(mask.float().mean().item() - 0.3) < 0.01


def test_half_hides_exactly_the_named_half():
    mask = half((2, 1, 8, 8), "bottom")
    assert mask[..., 4:, :].all() and not mask[..., :4, :].any()
    assert half((1, 1, 8, 8), "left")[..., :, :4].all()
    assert half((1, 1, 7, 7), "top").float().sum() == 4 * 7  # the larger half of an odd side


def test_square_hides_one_square_of_its_size_per_image():
    mask = square((50, 3, 8, 8), 3, torch.Generator().manual_seed(0))
    assert (mask.flatten(1).sum(1) == 3 * 3 * 3).all()
    assert (mask[:, 0] == mask[:, 2]).all()  # every channel alike


def test_rectangles_cover_30_to_100_percent_of_the_image():
    area = rectangle((500, 1, 8, 8), torch.Generator().manual_seed(0)).flatten(1).float().mean(1)
    assert area.min() >= 0.3 and area.max() <= 1.0 and area.std() > 0.1


def test_test_mask_is_a_function_of_the_spec():
    spec = {"kind": "mcar", "rate": 0.5, "side": "bottom", "size": 4, "seed": 3}
    assert torch.equal(masks.test_mask(spec, (10, 4)), masks.test_mask(spec, (10, 4)))
    assert not torch.equal(
        masks.test_mask(spec, (10, 4)), masks.test_mask({**spec, "seed": 4}, (10, 4))
    )
    assert torch.equal(
        masks.test_mask({**spec, "kind": "half"}, (3, 1, 8, 8)), half((3, 1, 8, 8), "bottom")
    )


def test_training_masks_mix_kinds_for_images_and_are_mcar_for_vectors():
    torch.manual_seed(0)
    vectors = train_mask(torch.zeros(400, 10), 0.5)
    assert vectors.shape == (400, 10) and abs(vectors.float().mean().item() - 0.5) < 0.03
    images = train_mask(torch.zeros(300, 2, 8, 8), 0.5)
    assert images.shape == (300, 2, 8, 8) and (images[:, 0] == images[:, 1]).all()
    halves = (images.flatten(1).float().mean(1) == 0.5) & (
        images[:, 0, :4].all(dim=(1, 2))
        | images[:, 0, 4:].all(dim=(1, 2))
        | images[:, 0, :, :4].all(dim=(1, 2))
        | images[:, 0, :, 4:].all(dim=(1, 2))
    )
    assert 0.2 < halves.float().mean() < 0.5  # about a third are halves
