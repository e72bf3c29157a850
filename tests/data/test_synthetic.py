"""The synthetic source: seeded mixtures on the cube, the simplex and the sphere, stored as
float32 vectors and loaded back in their domain."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from methodlib.data import load_prepared, prepare_dataset
from methodlib.data.sources import load_source
from methodlib.spec import SyntheticDatasetSpec


def spec(kind: str, dim: int = 3, **fields) -> SyntheticDatasetSpec:
    return SyntheticDatasetSpec(source="synthetic", kind=kind, dim=dim, n=600, **fields)


@pytest.mark.parametrize("kind", ["cube", "simplex", "sphere"])
def test_same_seed_same_data_other_seed_other_data(kind):
    a, b = load_source(spec(kind)), load_source(spec(kind))
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, load_source(spec(kind, seed=1)).x)


@pytest.mark.parametrize("kind", ["cube", "simplex", "sphere"])
def test_examples_lie_in_the_domain(kind):
    raw = load_source(spec(kind, dim=4))
    assert raw.x.shape == (600, 4) and raw.x.dtype == np.float32
    assert raw.domain == kind and raw.scale == 1.0
    if kind == "sphere":
        np.testing.assert_allclose(np.linalg.norm(raw.x, axis=1), 1.0, atol=1e-6)
    else:
        assert raw.x.min() >= 0 and raw.x.max() <= 1
    if kind == "simplex":
        np.testing.assert_allclose(raw.x.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("kind", ["cube", "simplex", "sphere"])
def test_labels_are_mixture_components_with_distinct_means(kind):
    raw = load_source(spec(kind, components=3))
    assert sorted(np.unique(raw.y)) == [0, 1, 2]
    means = np.stack([raw.x[raw.y == c].mean(axis=0) for c in range(3)])
    spread = np.linalg.norm(means[:, None] - means[None], axis=-1)
    assert spread[np.triu_indices(3, 1)].min() > 0.01, "components differ"
    within = np.mean([raw.x[raw.y == c].std(axis=0).mean() for c in range(3)])
    assert within < raw.x.std(axis=0).mean(), "a component is tighter than the mixture"


def test_prepared_vectors_are_float32_and_load_in_the_domain(tmp_path):
    meta = prepare_dataset("simplex3", spec("simplex"), tmp_path / "simplex3")
    assert meta["domain"] == "simplex" and meta["input_shape"] == [3] and meta["scale"] == 1.0
    assert sum(meta["sizes"].values()) == 600
    with np.load(tmp_path / "simplex3" / "train.npz") as data:
        assert data["x"].dtype == np.float32
    raw = load_prepared(tmp_path / "simplex3", standardise=False)
    np.testing.assert_allclose(raw.train.x.sum(1).numpy(), 1.0, atol=1e-6)
    standard = load_prepared(tmp_path / "simplex3")
    np.testing.assert_allclose(standard.train.x.mean(0).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(standard.train.x.std(0).numpy(), 1.0, atol=1e-2)


def test_too_few_examples_per_component_is_a_spec_error():
    with pytest.raises(ValidationError, match="too few"):
        SyntheticDatasetSpec(source="synthetic", kind="cube", dim=2, n=30, components=4)
