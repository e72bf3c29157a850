"""The perforation masks of Figurnov et al. (2016, section 3.2): which output positions of a
convolution are evaluated. Each returns a boolean (H, W) mask, true where kept. Every mask keeps
the same number of positions at a rate, `n_kept`: the size of the regular grid for
(1 − rate)·H·W points, which cannot always be that count (30 of 64 on an 8 × 8 map at rate ½,
81 of 169 on 13 × 13). The paper compares the masks at equal theoretical speed-up, and its code
records the grid's realised rate (`perforate_conv_layer.m`), so the other masks follow the
grid's count rather than the grid being bent to theirs (a count such as 37 has no grid).

- `uniform`: positions drawn uniformly at random without replacement;
- `grid`: the pseudo-random regular grid of the reference code (`weights_grid.m`): along each
  axis n points at ⌈(size/n)·(i + u)⌉, u ~ U(0, 1) drawn once per axis;
- `pooling`: the positions covered by the most windows of the following pooling layer
  (`weights_pooling_structure.m`), ties broken at random: with non-overlapping pooling every
  covered position ties, so it is the uniform mask over the covered positions;
- `impact`: the positions whose removal is estimated to change the loss most are kept, the
  impact of a position being Σ_channels |∂L/∂V · V| averaged over training images
  (`weights_average_impact.m`), computed on the network perforated so far and recomputed after
  each of `steps` equal steps towards the kept counts: the reference code's iterative impact
  (`PerforationType.IterativeImpact`); steps = 1 is its one-shot impact mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair

from methodlib.methods.perforation.layer import PerforatedConv2d, perforated_convs

Size = tuple[int, int]


def grid_shape(size: Size, rate: float) -> tuple[int, int]:
    """Rows × columns of the regular grid for round((1 − rate)·H·W) points (at least one), as
    square as the map allows: the rows nearest to √(count·H/W), the columns nearest to
    count / rows, so off the count by at most about one row or column (the reference code
    takes ⌊√count⌋² points, which misses rate ½ by up to 2√count points)."""
    height, width = size
    count = max(1, round((1 - rate) * height * width))
    rows = min(height, max(1, round((count * height / width) ** 0.5)))
    return rows, min(width, max(1, round(count / rows)))


def n_kept(size: Size, rate: float) -> int:
    """Positions kept at perforation rate `rate` (the fraction skipped) by every mask: the
    grid's count, so that the masks are compared at the same positions evaluated."""
    rows, cols = grid_shape(size, rate)
    return rows * cols


def top_mask(scores: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """The `n` highest-scoring positions of an (H, W) score map, ties broken at random."""
    order = torch.randperm(scores.numel(), generator=generator)
    shuffled = scores.flatten()[order].double()
    best = order[torch.sort(shuffled, descending=True, stable=True).indices[:n]]
    mask = torch.zeros(scores.numel(), dtype=torch.bool)
    mask[best] = True
    return mask.view(scores.shape)


def uniform_mask(size: Size, rate: float, generator: torch.Generator) -> torch.Tensor:
    return top_mask(torch.zeros(size), n_kept(size, rate), generator)


def grid_mask(size: Size, rate: float, generator: torch.Generator) -> torch.Tensor:
    """The regular grid of `grid_shape` rows × columns, pseudo-randomly placed."""
    height, width = size
    rows, cols = grid_shape(size, rate)

    def axis(length: int, points: int) -> torch.Tensor:
        u = torch.rand((), generator=generator, dtype=torch.float64)
        return torch.ceil(length / points * (torch.arange(points) + u)).long() - 1

    mask = torch.zeros(size, dtype=torch.bool)
    mask[
        axis(height, rows).clamp(0, height - 1).unsqueeze(1), axis(width, cols).clamp(0, width - 1)
    ] = True
    return mask


def pooling_structure(size: Size, pool: nn.Module) -> torch.Tensor:
    """How many windows of the pooling layer `pool` cover each position of an (H, W) map."""
    (kh, kw), (sh, sw), (ph, pw) = (_pair(v) for v in (pool.kernel_size, pool.stride, pool.padding))
    height, width = size
    counts = torch.zeros(size)
    for top in range(-ph, height + ph - kh + 1, sh):
        for left in range(-pw, width + pw - kw + 1, sw):
            counts[max(top, 0) : top + kh, max(left, 0) : left + kw] += 1
    return counts


def pooling_mask(
    size: Size, rate: float, pool: nn.Module | None, generator: torch.Generator
) -> torch.Tensor:
    if pool is None:
        raise ValueError("the pooling mask needs a pooling layer after every perforated conv")
    return top_mask(pooling_structure(size, pool), n_kept(size, rate), generator)


def following_pools(model: nn.Module) -> dict[PerforatedConv2d, nn.Module | None]:
    """Each perforable convolution's next pooling layer in module order (None if none)."""
    pools: dict[PerforatedConv2d, nn.Module | None] = {}
    pending: list[PerforatedConv2d] = []
    for module in model.modules():
        if isinstance(module, PerforatedConv2d):
            pending.append(module)
            pools[module] = None
        elif isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
            for conv in pending:
                pools[conv] = module
            pending = []
    return pools


def impacts(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
) -> dict[PerforatedConv2d, torch.Tensor]:
    """Each perforable convolution's (H, W) map of Σ_channels |∂L/∂V · V| (V its output at a
    position, L an image's cross-entropy) averaged over the images; 0 at skipped positions."""
    convs = perforated_convs(model)
    totals: dict[PerforatedConv2d, torch.Tensor] = {}
    for conv in convs:
        conv.record = True
    try:
        for start in range(0, len(x), batch_size):
            model.zero_grad(set_to_none=True)
            logits = model(x[start : start + batch_size])
            F.cross_entropy(logits, y[start : start + batch_size], reduction="sum").backward()
            for conv in convs:
                out = conv.recorded
                impact = (out.grad * out).abs().sum((0, 1)).flatten().detach()
                totals[conv] = totals.get(conv, 0) + impact
    finally:
        for conv in convs:
            conv.record, conv.recorded = False, None
        model.zero_grad(set_to_none=True)
    maps = {}
    for conv, total in totals.items():
        if conv.perforated:
            maps[conv] = torch.zeros(int(conv.hw.prod())).index_copy(
                0, conv.kept.cpu(), total.cpu()
            )
        else:
            maps[conv] = total.cpu()
        maps[conv] /= len(x)
    return maps


def impact_masks(
    model: nn.Module,
    sizes: dict[PerforatedConv2d, Size],
    rates: dict[PerforatedConv2d, float],
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    batch_size: int,
    generator: torch.Generator,
) -> dict[PerforatedConv2d, torch.Tensor]:
    """Perforate every convolution of `rates` in `steps` equal steps, each skipping an equal
    share of the positions to skip (ending at `n_kept`, the count every mask keeps) and keeping
    the positions of highest impact among those still kept, the impacts recomputed on the
    network perforated so far. Leaves the model perforated with the final masks."""
    masks: dict[PerforatedConv2d, torch.Tensor] = {}
    for step in range(1, steps + 1):
        maps = impacts(model, x, y, batch_size)
        for conv, rate in rates.items():
            size = sizes[conv]
            scores = maps[conv].view(size).clone()
            if conv in masks:
                scores[~masks[conv]] = -torch.inf  # a skipped position stays skipped
            positions = size[0] * size[1]
            count = positions - round((positions - n_kept(size, rate)) * step / steps)
            masks[conv] = top_mask(scores, count, generator)
            conv.perforate(masks[conv], generator)
    return masks
