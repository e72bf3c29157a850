"""How much of a network is left after pruning, and what that buys on a CPU.

A pruned network is evaluated as its masked form: linear and conv layers with some weights set
to zero (a layer may offer `pruned_weight()`, e.g. sparse VD's mean weights with high-variance
weights zeroed) and per-unit multipliers after activations (a module may offer
`unit_multiplier()`, e.g. SBP's E[θ] with low-SNR groups zeroed). From that form `shrink`
builds the physically smaller dense network: neurons and channels whose output is always zero
or never used are removed, multipliers are folded into the weights, and unused input features
are dropped. It checks that the small network gives the masked network's outputs.

Metrics (`pruning_metrics`): `compression` = all weights / non-zero weights of the small
network (biases are not counted, as in the papers), `sparsity_<layer>` (fraction of a layer's
weights that are zero or removed), `kept_units_<layer>` and `kept_fraction_<layer>` (neurons or
channels kept; `input` = input features the first layer still reads), `flops_reduction` (dense
MACs / MACs of the small network, i.e. what structured removal gains on dense hardware), and
`cpu_speedup` (measured inference time of the full-size network / the small one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn

from methodlib.errors import RunError
from methodlib.models.stats import count_flops

DROPPED = (nn.Identity, nn.Dropout)
"""Parameter-free modules that do nothing at evaluation time."""
KEPT = (nn.ReLU, nn.MaxPool2d, nn.Flatten)
"""Parameter-free modules that commute with scaling a unit by a non-negative multiplier."""


def chain(model: nn.Module) -> list[nn.Module]:
    """The model's modules in forward order, nested `nn.Sequential` containers flattened.
    (`shrink` checks that running them in order reproduces the model.)"""
    modules = []
    for child in model.children():
        modules += chain(child) if isinstance(child, nn.Sequential) else [child]
    return modules


def weight_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in chain(model) if isinstance(m, nn.Linear | nn.Conv2d)]


def layer_names(layers: list[nn.Module]) -> list[str]:
    """Report names: conv1, conv2, ..., fc1, fc2, ... in forward order."""
    counts = {"conv": 0, "fc": 0}
    names = []
    for layer in layers:
        kind = "conv" if isinstance(layer, nn.Conv2d) else "fc"
        counts[kind] += 1
        names.append(f"{kind}{counts[kind]}")
    return names


@dataclass
class _Stage:
    """A weight layer in effective form and the parameter-free modules after it."""

    layer: nn.Linear | nn.Conv2d
    weight: torch.Tensor
    bias: torch.Tensor
    after: list[nn.Module] = field(default_factory=list)
    group: int = 1  # input features of the next layer per unit (H·W across a Flatten)

    @property
    def relu(self) -> bool:
        return any(isinstance(m, nn.ReLU) for m in self.after)

    def connections(self) -> torch.Tensor:
        """(out, in) booleans: is any weight from input unit j to output unit i non-zero."""
        nonzero = self.weight != 0
        return nonzero.flatten(2).any(-1) if nonzero.dim() > 2 else nonzero


class _Select(nn.Module):
    """Keeps the input features (or channels) the first layer reads."""

    def __init__(self, index: torch.Tensor):
        super().__init__()
        self.register_buffer("index", index)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.index_select(1, self.index)


@dataclass
class Shrunk:
    """The small network, and per layer which output units were kept (plus `input`)."""

    network: nn.Sequential
    full: nn.Sequential  # the same effective weights at full size, for timing
    kept: dict[str, torch.Tensor]
    names: list[str]


def _stages(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[list[nn.Module], list[_Stage]]:
    """The model (in evaluation mode) as parameter-free head modules and weight-layer stages."""
    head: list[nn.Module] = []
    stages: list[_Stage] = []
    x = torch.zeros(1, *input_shape, device=next(model.parameters()).device)
    for module in chain(model):
        if isinstance(module, nn.Linear | nn.Conv2d):
            if isinstance(module, nn.Conv2d) and (
                module.groups != 1 or module.padding_mode != "zeros"
            ):
                raise RunError(f"cannot shrink {module}: grouped or non-zero-padded convolution")
            pruned = getattr(module, "pruned_weight", None)
            weight = (pruned() if pruned else module.weight).detach().float().cpu().clone()
            bias = torch.zeros(len(weight)) if module.bias is None else module.bias
            stages.append(_Stage(module, weight, bias.detach().float().cpu().clone()))
        elif hasattr(module, "unit_multiplier"):
            if not stages or any(isinstance(m, nn.Flatten) for m in stages[-1].after):
                raise RunError(f"cannot shrink: {module} is not after a layer's units")
            # relu(z)·m = relu(m·z) for m ≥ 0, and max pooling commutes with it too.
            m = module.unit_multiplier().detach().float().cpu()
            stage = stages[-1]
            stage.weight *= m.view(-1, *[1] * (stage.weight.dim() - 1))
            stage.bias *= m
        elif isinstance(module, KEPT):
            if isinstance(module, nn.Flatten) and stages and x.dim() > 2:
                stages[-1].group = x[0, 0].numel()
            (stages[-1].after if stages else head).append(module)
        elif not isinstance(module, DROPPED):
            raise RunError(f"cannot shrink a network containing {type(module).__name__}")
        x = module(x)
    if not stages:
        raise RunError("cannot shrink a network without linear or conv layers")
    return head, stages


def _kept_units(stages: list[_Stage]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Which input features and which output units of every layer the small network keeps."""
    links = [s.connections() for s in stages]
    # Forward: a unit is alive if it reads a live input or its bias passes the activation.
    alive, live_in = [], torch.ones(links[0].shape[1], dtype=torch.bool)
    for stage, link in zip(stages, links, strict=True):
        constant = stage.bias > 0 if stage.relu else stage.bias != 0
        alive.append(link[:, live_in].any(1) | constant)
        live_in = alive[-1].repeat_interleave(stage.group)
    # Backward: a hidden unit is kept if it is alive and a kept unit of the next layer reads it.
    kept = [None] * len(stages)
    kept[-1] = torch.ones(len(alive[-1]), dtype=torch.bool)
    for i in range(len(stages) - 2, -1, -1):
        reads = links[i + 1][kept[i + 1]].view(int(kept[i + 1].sum()), -1, stages[i].group)
        kept[i] = alive[i] & reads.any(-1).any(0)
        if not kept[i].any():  # a constant network: one (zero or unread) unit keeps it valid
            kept[i][0] = True
    inputs = links[0][kept[0]].any(0)
    if not inputs.any():
        inputs[0] = True
    return inputs, kept


def _build(head, stages: list[_Stage], inputs, kept) -> nn.Sequential:
    modules = list(head)
    if not inputs.all():
        modules.append(_Select(inputs.nonzero().flatten()))
    cols = inputs
    for stage, rows in zip(stages, kept, strict=True):
        weight = stage.weight[rows][:, cols]
        layer = stage.layer
        if isinstance(layer, nn.Conv2d):
            small = nn.Conv2d(
                weight.shape[1],
                weight.shape[0],
                layer.kernel_size,
                stride=layer.stride,
                padding=layer.padding,
                dilation=layer.dilation,
            )
        else:
            small = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            small.weight.copy_(weight)
            small.bias.copy_(stage.bias[rows])
        modules += [small, *stage.after]
        cols = rows.repeat_interleave(stage.group)
    return nn.Sequential(*modules).eval()


@torch.no_grad()
def shrink(model: nn.Module, input_shape: tuple[int, ...], check: bool = True) -> Shrunk:
    """The physically smaller dense network that computes what the pruned `model` computes in
    evaluation mode. Raises `RunError` if the two disagree on random inputs."""
    was_training = model.training
    model.eval()
    try:
        head, stages = _stages(model, input_shape)
        inputs, kept = _kept_units(stages)
        network = _build(head, stages, inputs, kept)
        if check:
            _check_equivalent(model, network, input_shape)
    finally:
        model.train(was_training)
    full = _build(head, stages, torch.ones_like(inputs), [torch.ones_like(k) for k in kept])
    names = layer_names([s.layer for s in stages])
    return Shrunk(network, full, {"input": inputs, **dict(zip(names, kept, strict=True))}, names)


@torch.no_grad()
def _check_equivalent(model: nn.Module, network: nn.Module, input_shape: tuple[int, ...]) -> None:
    x = torch.randn(64, *input_shape, generator=torch.Generator().manual_seed(0))
    expected = model(x.to(next(model.parameters()).device)).float().cpu()
    got = network(x)
    tolerance = 1e-4 * (1 + expected.abs().max().item())
    if not torch.allclose(got, expected, atol=tolerance, rtol=1e-4):
        error = (got - expected).abs().max().item()
        raise RunError(f"the shrunk network differs from the masked one (max error {error:.3g})")


@torch.no_grad()
def time_forward(network: nn.Module, x: torch.Tensor, repeats: int) -> float:
    """Fastest of `repeats` forward passes in seconds, after warm-up: the minimum is the
    estimate least disturbed by other processes on the machine."""
    network(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        network(x)
        times.append(time.perf_counter() - start)
    return min(times)


def cpu_speedup(
    shrunk: Shrunk, input_shape: tuple[int, ...], batch: int = 32, rounds: int = 10
) -> float:
    """Inference time of the full-size network / the small one on this CPU (batches of
    `batch` inputs, torch's current thread count), in interleaved rounds against drift. Small
    batches keep one pass shorter than a scheduler time slice on a busy machine."""
    x = torch.randn(batch, *input_shape, generator=torch.Generator().manual_seed(0))
    full = small = float("inf")
    for _ in range(rounds):
        full = min(full, time_forward(shrunk.full, x, 10))
        small = min(small, time_forward(shrunk.network, x, 10))
    return full / small


def pruning_metrics(
    model: nn.Module, input_shape: tuple[int, ...], timed: bool = True
) -> dict[str, float]:
    """Compression, per-layer sparsity and kept units, FLOPs reduction and (if `timed`) the
    measured CPU speed-up of the shrunk network; see the module docstring."""
    shrunk = shrink(model, input_shape)
    dense = weight_layers(model)
    small = weight_layers(shrunk.network)
    metrics: dict[str, float] = {}
    total = nonzero = 0
    for name, layer, kept_layer in zip(shrunk.names, dense, small, strict=True):
        n, nz = layer.weight.numel(), int((kept_layer.weight != 0).sum())
        total, nonzero = total + n, nonzero + nz
        metrics[f"sparsity_{name}"] = 1.0 - nz / n
    for name, kept in shrunk.kept.items():
        if name != shrunk.names[-1]:  # the output layer keeps every class
            metrics[f"kept_units_{name}"] = int(kept.sum())
            metrics[f"kept_fraction_{name}"] = float(kept.float().mean())
    dense_flops = count_flops(model, input_shape)
    pruned_flops = count_flops(shrunk.network, input_shape)
    metrics |= {
        "compression": total / max(nonzero, 1),
        "nonzero_weights": nonzero,
        "pruned_flops": pruned_flops,
        "flops_reduction": dense_flops / max(pruned_flops, 1),
    }
    if timed:  # a network with nothing removed is the same network: no timing noise
        same = pruned_flops == dense_flops
        metrics["cpu_speedup"] = 1.0 if same else cpu_speedup(shrunk, input_shape)
    return metrics
