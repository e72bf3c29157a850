"""The perforated convolution: the convolution evaluated only at the kept output positions and
the skipped ones filled by nearest-neighbour interpolation (Figurnov et al. 2016, section 3).

The speed-up comes from the im2col form of a convolution: the patches of the kept positions
alone are gathered into a (C·k·k, P) matrix and multiplied by the (C_out, C·k·k) weights in one
matrix product, so the work shrinks with P. The interpolation is one more gather, as in the
reference Caffe layer (`ConvolutionPerforatedLayer`, which interpolates explicitly rather than
in the next layer's reads as the MatConvNet code does). Its backward pass sums the gradients of
each skipped position into its nearest kept one, which is what fine-tuning trains.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def nearest_kept(
    kept: torch.Tensor, size: tuple[int, int], generator: torch.Generator
) -> torch.Tensor:
    """For every position of an (H, W) map (row-major), the index into `kept` (sorted flat
    positions) of its nearest kept position in Euclidean distance; ties are broken at random, as
    in the reference code (`non_perforated_indices_to_intepolation_indices`). A kept position
    maps to itself."""
    height, width = size
    grid = torch.stack(
        torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij"), -1
    ).reshape(-1, 2)
    squared = torch.cdist(grid.double(), grid[kept].double()).square().round()
    # squared distances are integers: noise below 1/2 only orders the ties
    noise = 0.49 * torch.rand(squared.shape, generator=generator, dtype=torch.float64)
    return (squared + noise).argmin(1)


class PerforatedConv2d(nn.Conv2d):
    """An `nn.Conv2d` that, once `perforate`d, evaluates only the kept output positions.

    Unperforated (`kept` empty) it is the plain convolution. The mask lives in two buffers,
    `kept` (flat output positions evaluated, sorted) and `nearest` (for every output position,
    the index into `kept` it copies), with `hw` the output's size, so a checkpoint carries it; their shapes change when the
    layer is perforated, hence `_load_from_state_dict` resizes them before loading; a plain
    `nn.Conv2d` checkpoint, which has none of them, loads as unperforated."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.groups != 1 or self.dilation != (1, 1) or self.padding_mode != "zeros":
            raise ValueError("PerforatedConv2d supports groups=1, dilation=1, zero padding only")
        self.register_buffer("kept", torch.zeros(0, dtype=torch.long))
        self.register_buffer("nearest", torch.zeros(0, dtype=torch.long))
        self.register_buffer("hw", torch.zeros(2, dtype=torch.long))  # the output (H, W)
        self._index: dict[tuple[int, ...], torch.Tensor] = {}
        self.recorded: torch.Tensor | None = None
        """When `record` is set, the last output before interpolation, its gradient retained:
        (batch, C_out, P) perforated, (batch, C_out, H, W) not; the impact mask is estimated
        from it."""
        self.record = False

    @property
    def perforated(self) -> bool:
        return self.kept.numel() > 0

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1

    def input_size(self) -> tuple[int, int]:
        """An input height and width that give the perforated output size (for timing)."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        height, width = self.out_hw
        return (height - 1) * sh + kh - 2 * ph, (width - 1) * sw + kw - 2 * pw

    @property
    def out_hw(self) -> tuple[int, int]:
        return tuple(self.hw.tolist())

    def perforate(self, mask: torch.Tensor, generator: torch.Generator) -> None:
        """Keep the output positions where the boolean (H, W) `mask` is true."""
        if not mask.any():
            raise ValueError("a perforation mask must keep at least one position")
        kept = mask.flatten().nonzero().squeeze(1)
        self.kept = kept.to(self.weight.device)
        self.nearest = nearest_kept(kept, tuple(mask.shape), generator).to(self.weight.device)
        self.hw = torch.tensor(mask.shape, device=self.weight.device)
        self._index.clear()

    def unperforate(self) -> None:
        """Evaluate every position again."""
        self.kept = self.kept[:0]
        self.nearest = self.nearest[:0]
        self.hw = torch.zeros_like(self.hw)
        self._index.clear()

    def _load_from_state_dict(self, state_dict, prefix, *args: Any, **kwargs: Any) -> None:
        if not any(prefix + name in state_dict for name in ("kept", "nearest", "hw")):
            # a plain nn.Conv2d's checkpoint (a dense run to start from): unperforated
            self.unperforate()
            for name in ("kept", "nearest", "hw"):
                state_dict[prefix + name] = getattr(self, name)
        for name in ("kept", "nearest"):
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        self._index.clear()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def patch_index(self, shape: tuple[int, ...], positions: torch.Tensor) -> torch.Tensor:
        """Indices into the flattened zero-padded input (C, H + 2p, W + 2p) of the patches of
        the flat output `positions`: (C·kh·kw, P), rows in the weight's (c, i, j) order."""
        channels, height, width = shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        padded_w = width + 2 * pw
        out_w = self.output_size(height, width)[1]
        rows, cols = positions // out_w * sh, positions % out_w * sw
        c, i, j = torch.meshgrid(
            torch.arange(channels), torch.arange(kh), torch.arange(kw), indexing="ij"
        )
        offset = (c * (height + 2 * ph) + i) * padded_w + j
        return offset.reshape(-1, 1) + (rows * padded_w + cols).reshape(1, -1)

    def im2col_conv(
        self, x: torch.Tensor, positions: torch.Tensor, key: Any = None
    ) -> torch.Tensor:
        """The convolution at the flat output `positions` only: (batch, C_out, P). `key`
        caches the gather index (the layer's own mask)."""
        shape = tuple(x.shape[1:])
        index = self._index.get((key, *shape)) if key is not None else None
        if index is None:
            index = self.patch_index(shape, positions.cpu()).flatten().to(x.device)
            if key is not None:
                self._index[(key, *shape)] = index
        ph, pw = self.padding
        padded = F.pad(x, (pw, pw, ph, ph)) if ph or pw else x
        columns = padded.flatten(1).index_select(1, index)
        columns = columns.view(len(x), -1, len(positions))
        out = torch.matmul(self.weight.flatten(1), columns)
        return out if self.bias is None else out + self.bias.unsqueeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.perforated:
            out = super().forward(x)
            if self.record:
                self._keep_for_impact(out)
            return out
        height, width = self.output_size(*x.shape[2:])
        if len(self.nearest) != height * width:
            raise ValueError(
                f"perforated for a {tuple(self.out_hw)} output, got an input giving "
                f"{(height, width)}"
            )
        compact = self.im2col_conv(x, self.kept, key="kept")
        if self.record:
            self._keep_for_impact(compact)
        return compact.index_select(2, self.nearest).view(len(x), -1, height, width)

    def _keep_for_impact(self, out: torch.Tensor) -> None:
        if out.requires_grad:
            out.retain_grad()
        self.recorded = out


def perforated_convs(model: nn.Module) -> list[PerforatedConv2d]:
    """The model's perforable convolutions, in the order they are applied."""
    return [m for m in model.modules() if isinstance(m, PerforatedConv2d)]
