"""The closed-form targets: their exact samplers draw from their (unnormalised) densities, and
their moments are what their draws give; the `synthetic` kinds prepare from them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from methodlib.data import prepare_dataset
from methodlib.data.densities import density
from methodlib.dataset_kinds import DENSITY_KINDS
from methodlib.spec import SyntheticDatasetSpec


@pytest.mark.parametrize("kind", DENSITY_KINDS)
def test_draws_follow_the_density_and_the_moments(kind):
    target = density(kind, 2, 8)
    x, _ = target.sample(400_000, np.random.default_rng(0))
    edges = np.linspace(-8, 8, 81)
    counts, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[edges, edges])
    fine = np.linspace(-8, 8, 641)  # 8 × 8 points per bin
    centres = (fine[:-1] + fine[1:]) / 2
    grid = torch.as_tensor(
        np.stack(np.meshgrid(centres, centres, indexing="ij"), -1).reshape(-1, 2)
    )
    mass = target.log_prob(grid).exp().numpy().reshape(640, 640)
    mass = mass.reshape(80, 8, 80, 8).sum(axis=(1, 3))
    tv = 0.5 * np.abs(counts / counts.sum() - mass / mass.sum()).sum()
    assert tv < 0.03
    np.testing.assert_allclose(x.mean(axis=0), target.mean(), atol=0.02)
    np.testing.assert_allclose(
        np.cov(x, rowvar=False), target.cov(), atol=0.05 * target.cov().max()
    )


def test_a_density_kind_prepares_real_data_with_its_target(tmp_path):
    spec = SyntheticDatasetSpec(source="synthetic", kind="mixture2d", dim=2, n=400, components=4)
    meta = prepare_dataset("m", spec, tmp_path / "m")
    assert meta["domain"] == "real"
    assert meta["density"] == {"kind": "mixture2d", "dim": 2, "components": 4}
    assert meta["n_classes"] == 4
    with pytest.raises(ValueError, match="dim: 2"):
        SyntheticDatasetSpec(source="synthetic", kind="ring", dim=3)
