"""A dataset's `noise_share` (robust VI's noisy training data): which images it replaces, and
that the default leaves every dataset's identity as it was."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from methodlib.data.prepare import add_noise
from methodlib.spec import EmbeddedDatasetSpec, trigger_fields


def splits(n: int = 200):
    x = np.zeros((n, 1, 4, 4), dtype=np.uint8)
    y = np.arange(n) % 10
    return {"train": (x, y), "val": (x[:50], y[:50]), "test": (x[:40], y[:40])}


@pytest.mark.parametrize("share", [0.5, 0.8])
def test_noise_replaces_the_share_of_training_and_validation_images_not_the_test(share):
    clean = splits()
    noisy = add_noise(clean, share, 255.0, seed=0)
    for split, n in (("train", 200), ("val", 50)):
        x, y = noisy[split]
        replaced = (x.reshape(n, -1) > 0).any(axis=1)
        assert abs(replaced.sum() - round(share * n)) <= 1  # an all-zero noise image is unlikely
        assert x.max() > 200 and x.dtype == np.uint8
        np.testing.assert_array_equal(y, clean[split][1])
    np.testing.assert_array_equal(noisy["test"][0], clean["test"][0])
    np.testing.assert_array_equal(add_noise(clean, share, 255.0, 0)["train"][0], noisy["train"][0])
    assert not clean["train"][0].any()  # the input is left as it was


def test_float_images_get_uniform_noise_on_their_scale():
    x = np.zeros((100, 3), dtype=np.float32)
    noisy = add_noise({"train": (x, x[:, 0]), "val": (x, x[:, 0])}, 0.5, 1.0, 0)["train"][0]
    assert 0 < noisy.max() <= 1.0 and (noisy.any(axis=1)).sum() == 50


def test_the_default_share_leaves_the_dataset_identity_alone():
    spec = EmbeddedDatasetSpec(source="mnist5k")
    assert "noise_share" not in trigger_fields(spec)
    assert trigger_fields(spec.model_copy(update={"noise_share": 0.5}))["noise_share"] == 0.5
    with pytest.raises(ValidationError):
        EmbeddedDatasetSpec(source="mnist5k", noise_share=1.0)
