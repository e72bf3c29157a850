"""The perforated convolution against a direct computation: the full convolution at the kept
positions, the nearest kept position's value elsewhere (brute-force distances)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from methodlib.methods.perforation.layer import PerforatedConv2d
from methodlib.methods.perforation.masks import uniform_mask


def make(stride: int = 1, padding: int = 1, seed: int = 0) -> PerforatedConv2d:
    torch.manual_seed(seed)
    return PerforatedConv2d(3, 4, 3, stride=stride, padding=padding)


def full_conv(conv: PerforatedConv2d, x: torch.Tensor) -> torch.Tensor:
    return F.conv2d(x, conv.weight, conv.bias, stride=conv.stride, padding=conv.padding)


@pytest.mark.parametrize(("stride", "padding", "size"), [(1, 1, (7, 9)), (2, 0, (11, 8))])
def test_kept_positions_equal_the_full_conv_and_others_their_nearest(stride, padding, size):
    conv = make(stride, padding)
    x = torch.randn(2, 3, *size)
    full = full_conv(conv, x)
    height, width = full.shape[2:]
    g = torch.Generator().manual_seed(1)
    mask = uniform_mask((height, width), 0.6, g)
    conv.perforate(mask, g)
    out = conv(x)
    assert out.shape == full.shape
    torch.testing.assert_close(out[:, :, mask], full[:, :, mask], rtol=1e-5, atol=1e-5)
    kept = mask.nonzero().double()
    for i in range(height):
        for j in range(width):
            d = ((kept - torch.tensor([i, j]).double()) ** 2).sum(1)
            nearest = kept[d == d.min()].long()  # every nearest kept position (ties)
            candidates = full[:, :, nearest[:, 0], nearest[:, 1]]  # (batch, C_out, ties)
            hit = (candidates - out[:, :, i, j].unsqueeze(-1)).abs().amax((0, 1)) < 1e-5
            assert hit.any(), (i, j)


def test_unperforated_is_the_plain_convolution():
    conv = make()
    x = torch.randn(2, 3, 6, 6)
    torch.testing.assert_close(conv(x), full_conv(conv, x))


def test_patches_equal_unfold():
    conv = make(stride=2, padding=1)
    x = torch.randn(2, 3, 9, 7)
    positions = torch.arange(conv.output_size(9, 7)[0] * conv.output_size(9, 7)[1])
    columns = F.pad(x, (1, 1, 1, 1)).flatten(1)[:, conv.patch_index((3, 9, 7), positions)]
    torch.testing.assert_close(columns, F.unfold(x, 3, padding=1, stride=2))


def test_gradients_are_those_of_the_interpolated_full_conv():
    conv = make()
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    g = torch.Generator().manual_seed(0)
    conv.perforate(uniform_mask((6, 6), 0.5, g), g)
    target = torch.randn(2, 4, 6, 6)
    (conv(x) * target).sum().backward()
    grads = conv.weight.grad.clone(), x.grad.clone()
    conv.weight.grad, x.grad = None, None
    source = conv.kept[conv.nearest]  # the full-conv position each output copies
    (full_conv(conv, x).flatten(2)[:, :, source] * target.flatten(2)).sum().backward()
    torch.testing.assert_close(conv.weight.grad, grads[0])
    torch.testing.assert_close(x.grad, grads[1])


def test_state_dict_carries_the_mask_into_a_fresh_layer():
    conv = make()
    g = torch.Generator().manual_seed(0)
    conv.perforate(uniform_mask((6, 6), 0.5, g), g)
    fresh = make(seed=5)
    fresh.load_state_dict(conv.state_dict())
    x = torch.randn(2, 3, 6, 6)
    torch.testing.assert_close(fresh(x), conv(x))
    fresh.unperforate()
    torch.testing.assert_close(fresh(x), full_conv(conv, x))


def test_wrong_input_size_is_an_error():
    conv = make()
    g = torch.Generator().manual_seed(0)
    conv.perforate(uniform_mask((6, 6), 0.5, g), g)
    with pytest.raises(ValueError, match="perforated for"):
        conv(torch.randn(1, 3, 7, 7))


def test_a_plain_conv_checkpoint_loads_unperforated():
    conv = make()
    g = torch.Generator().manual_seed(0)
    conv.perforate(uniform_mask((6, 6), 0.5, g), g)
    plain = torch.nn.Conv2d(3, 4, 3, padding=1)
    conv.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 6, 6)
    assert not conv.perforated
    torch.testing.assert_close(conv(x), plain(x))
