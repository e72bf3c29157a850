"""The perforation masks: one kept count for every mask, the pooling structure by brute force, and the
impact map against a direct computation of Σ_channels |∂L/∂V · V|."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.perforation.layer import PerforatedConv2d, perforated_convs
from methodlib.methods.perforation.masks import (
    following_pools,
    grid_mask,
    impact_masks,
    impacts,
    n_kept,
    pooling_mask,
    pooling_structure,
    uniform_mask,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("size", [(24, 24), (8, 8), (13, 13), (7, 9)])
@pytest.mark.parametrize("rate", [0.25, 0.5, 0.75])
def test_every_mask_keeps_the_grids_count(size, rate):
    # the masks are compared at the same positions evaluated: the grid's count, which the
    # uniform and pooling masks can keep exactly and the grid cannot always bend to
    assert grid_mask(size, rate, gen(3)).sum() == n_kept(size, rate)
    assert uniform_mask(size, rate, gen()).sum() == n_kept(size, rate)
    pool = nn.MaxPool2d(3, 2) if min(size) >= 3 else nn.MaxPool2d(2)
    assert pooling_mask(size, rate, pool, gen()).sum() == n_kept(size, rate)
    assert n_kept((8, 8), 0.5) == 30 and n_kept((13, 13), 0.5) == 81


@pytest.mark.parametrize("size", [(24, 24), (8, 8), (13, 13), (28, 28)])
@pytest.mark.parametrize("rate", [0.25, 0.5, 0.75])
def test_grid_is_a_regular_grid_near_the_requested_rate(size, rate):
    mask = grid_mask(size, rate, gen(3))
    rows, cols = mask.any(1), mask.any(0)
    assert torch.equal(mask, rows.unsqueeze(1) & cols.unsqueeze(0))  # a product of two sets
    realised = 1 - mask.float().mean().item()
    # the nearest rows × cols grid: off by at most about one row or column
    assert abs(realised - rate) <= max(size) / (size[0] * size[1]) + 0.02
    steps = torch.diff(rows.nonzero().squeeze(1))
    assert steps.max() - steps.min() <= 1  # evenly spread


def test_pooling_structure_counts_windows_by_brute_force():
    counts = pooling_structure((13, 13), nn.MaxPool2d(3, 2))
    brute = torch.zeros(13, 13)
    for top in range(0, 13 - 3 + 1, 2):
        for left in range(0, 13 - 3 + 1, 2):
            brute[top : top + 3, left : left + 3] += 1
    torch.testing.assert_close(counts, brute)
    # non-overlapping windows cover every position once; padding shifts the windows
    torch.testing.assert_close(pooling_structure((8, 8), nn.MaxPool2d(2)), torch.ones(8, 8))
    padded = pooling_structure((4, 4), nn.MaxPool2d(3, 2, padding=1))
    brute = torch.zeros(6, 6)
    for top in range(0, 6 - 3 + 1, 2):
        for left in range(0, 6 - 3 + 1, 2):
            brute[top : top + 3, left : left + 3] += 1
    torch.testing.assert_close(padded, brute[1:5, 1:5])


def test_pooling_mask_keeps_the_most_covered_positions():
    size, pool = (13, 13), nn.MaxPool2d(3, 2)
    mask = pooling_mask(size, 0.5, pool, gen())
    counts = pooling_structure(size, pool)
    assert counts[mask].min() >= counts[~mask].max()


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = PerforatedConv2d(1, 3, 3, padding=1)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = PerforatedConv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        return self.head(self.conv2(self.pool1(self.conv1(x).relu())).relu().flatten(1))


def data(n: int = 40):
    g = gen(1)
    return torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 5, (n,), generator=g)


def test_following_pools():
    model = Tiny()
    assert following_pools(model) == {model.conv1: model.pool1, model.conv2: None}


def direct_impact(model: Tiny, x: torch.Tensor, y: torch.Tensor, layer: str) -> torch.Tensor:
    """Σ over images and channels of |∂L_i/∂V · V|, by differentiating the summed loss with
    respect to the layer's output itself."""
    outputs = {}

    def keep(module, _, out):
        out.retain_grad()
        outputs["v"] = out

    hook = getattr(model, layer).register_forward_hook(keep)
    F.cross_entropy(model(x), y, reduction="sum").backward()
    hook.remove()
    v = outputs["v"]
    return (v.grad * v).abs().sum((0, 1)).flatten() / len(x)


def test_impacts_equal_a_direct_computation_in_batches():
    model = Tiny()
    x, y = data()
    maps = impacts(model, x, y, batch_size=16)
    torch.testing.assert_close(maps[model.conv1], direct_impact(model, x, y, "conv1"))
    torch.testing.assert_close(maps[model.conv2], direct_impact(model, x, y, "conv2"))


def test_impacts_of_a_perforated_layer_are_zero_where_skipped():
    model = Tiny()
    x, y = data()
    mask = uniform_mask((8, 8), 0.5, gen())
    model.conv1.perforate(mask, gen())
    impact = impacts(model, x, y, batch_size=16)[model.conv1].view(8, 8)
    assert (impact[~mask] == 0).all() and (impact[mask] > 0).any()


def test_one_step_impact_mask_keeps_the_highest_impacts():
    model = Tiny()
    x, y = data()
    before = impacts(model, x, y, batch_size=40)
    sizes = {model.conv1: (8, 8), model.conv2: (4, 4)}
    masks = impact_masks(model, sizes, {model.conv1: 0.5, model.conv2: 0.25}, x, y, 1, 40, gen())
    for conv, rate in ((model.conv1, 0.5), (model.conv2, 0.25)):
        mask = masks[conv].flatten()
        assert mask.sum() == n_kept(sizes[conv], rate)
        assert before[conv][mask].min() >= before[conv][~mask].max()
        assert torch.equal(conv.kept, mask.nonzero().squeeze(1))


def test_iterative_impact_mask_reaches_the_rate_and_keeps_nested_sets():
    x, y = data()
    sizes = lambda m: {m.conv1: (8, 8), m.conv2: (4, 4)}  # noqa: E731
    half = Tiny()
    first = impact_masks(
        half, sizes(half), {c: 0.25 for c in perforated_convs(half)}, x, y, 1, 40, gen()
    )
    full = Tiny()
    final = impact_masks(
        full, sizes(full), {c: 0.5 for c in perforated_convs(full)}, x, y, 2, 40, gen()
    )
    # step 1 of the two-step run keeps the top of the one-step run's impacts (47 of its 49 on
    # conv1: half of the 34 positions to skip); step 2 keeps a subset of it
    for a, b in zip(first.values(), final.values(), strict=True):
        assert b.sum() == n_kept(tuple(b.shape), 0.5)
        assert not (b & ~a).any()
