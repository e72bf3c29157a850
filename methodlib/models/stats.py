"""Size and cost of a network: parameter count and FLOPs of one forward pass.

FLOPs are counted as multiply-accumulates of the linear and convolutional layers, the
convention of the Bayesian pruning papers (only ratios between networks are compared). A custom
layer reports its own cost, including that of the modules inside it, through a
`macs(input, output)` method.
"""

from __future__ import annotations

import torch
from torch import nn


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass on one input of `input_shape`."""
    total = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += layer_macs(module, inputs[0], output)

    handles = [m.register_forward_hook(hook) for m in _costed_modules(model)]
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return int(total)


def _costed_modules(model: nn.Module) -> list[nn.Module]:
    """Every module, except those inside a layer with its own `macs()`: that cost covers them."""
    found: dict[nn.Module, None] = {}  # ordered set: a shared module is hooked once
    stack = [model]
    while stack:
        module = stack.pop()
        if module in found:
            continue
        found[module] = None
        if not hasattr(module, "macs"):
            stack.extend(module.children())
    return list(found)


def layer_macs(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    if hasattr(module, "macs"):
        return int(module.macs(inp, out))
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    if isinstance(module, nn.Conv2d):
        kernel = module.kernel_size[0] * module.kernel_size[1] * module.in_channels
        return kernel // module.groups * out.shape[1] * out.shape[2] * out.shape[3]
    return 0
