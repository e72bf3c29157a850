"""`perforated_cnn`: PerforatedCNNs (Figurnov, Ibraimova, Vetrov, Kohli 2016). The network is
trained dense for `dense_epochs` (or loaded with `init_from` and trained on briefly), then every
conv layer is perforated with the configured mask and rate, and the remaining epochs fine-tune
the perforated network, as the paper does after choosing its masks.

At the moment of perforation the validation loss is measured before and after (the same
weights): `perforation_loss_increase`, the quantity the paper's mask comparison ranks. After
training, `perforation_speedup` is the measured 1-thread CPU time of the conv layers evaluated
at every position by the same im2col-and-matmul code / their time perforated (interpolation
included), the comparison the paper makes against its own non-perforated implementation;
`perforation_speedup_torch` is against torch's own convolution instead.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.methods.base import ClassifierMethod, EpochContext
from methodlib.methods.perforation.configs import PerforatedCNNConfig
from methodlib.methods.perforation.layer import PerforatedConv2d, perforated_convs
from methodlib.methods.perforation.masks import (
    following_pools,
    grid_mask,
    impact_masks,
    pooling_mask,
    uniform_mask,
)
from methodlib.models import Layers


class PerforationLayers(Layers):
    """Plain layers whose convolutions can be perforated."""

    def conv2d(self, c_in: int, c_out: int, kernel: int, padding: int = 0) -> nn.Module:
        return PerforatedConv2d(c_in, c_out, kernel, padding=padding)


@torch.no_grad()
def mean_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    total = sum(
        F.cross_entropy(model(x[i : i + batch_size]), y[i : i + batch_size], reduction="sum")
        for i in range(0, len(x), batch_size)
    )
    return float(total) / len(x)


def output_sizes(model: nn.Module, x: torch.Tensor) -> dict[PerforatedConv2d, tuple[int, int]]:
    """Each perforable conv's output (H, W) for inputs shaped like `x`."""
    sizes = {}
    hooks = [
        conv.register_forward_hook(
            lambda module, _, out: sizes.__setitem__(module, tuple(out.shape[2:]))
        )
        for conv in perforated_convs(model)
    ]
    with torch.no_grad():
        model(x[:1])
    for hook in hooks:
        hook.remove()
    return sizes


class _Im2colDense(nn.Module):
    """A perforable conv evaluated at every position by its im2col code: the timing
    baseline with the perforated layer's own implementation."""

    def __init__(self, conv: PerforatedConv2d):
        super().__init__()
        self.conv = conv
        self.positions = torch.arange(int(conv.hw.prod()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = self.conv.out_hw
        return self.conv.im2col_conv(x, self.positions, key="all").view(len(x), -1, height, width)


@torch.no_grad()
def cpu_time(network: nn.Module, x: torch.Tensor, repeats: int) -> float:
    """Process CPU seconds of one forward pass, the mean over `repeats` after a warm-up:
    CPU time rather than wall time, as the machine may be shared."""
    network(x)
    start = time.process_time()
    for _ in range(repeats):
        network(x)
    return (time.process_time() - start) / repeats


def layer_speedups(
    convs: list[PerforatedConv2d], batch: int, rounds: int = 5
) -> tuple[float, float]:
    """Summed 1-thread CPU time of the layers unperforated / perforated, with the dense time
    by the layers' own im2col code and by torch's convolution; interleaved rounds, the fastest
    of each: the estimate least disturbed by other processes."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        totals = torch.zeros(3, dtype=torch.float64)
        for conv in convs:
            layer = copy.deepcopy(conv).cpu().eval()
            plain = nn.Conv2d(
                layer.in_channels, layer.out_channels, layer.kernel_size, padding=layer.padding
            )
            plain.load_state_dict(layer.state_dict(), strict=False)
            networks = (_Im2colDense(layer), plain, layer)
            x = torch.randn(
                batch,
                layer.in_channels,
                *layer.input_size(),
                generator=torch.Generator().manual_seed(0),
            )
            best = [float("inf")] * 3
            for _ in range(rounds):
                for k, network in enumerate(networks):
                    best[k] = min(best[k], cpu_time(network, x, 3))
            totals += torch.tensor(best, dtype=torch.float64)
    finally:
        torch.set_num_threads(threads)
    im2col, torch_conv, perforated = totals.tolist()
    return im2col / perforated, torch_conv / perforated


class PerforatedCNN(ClassifierMethod):
    Config = PerforatedCNNConfig

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.perforation: dict[str, float] = {}
        """The validation losses at perforation and the rate reached: empty until then."""

    def layers(self) -> Layers:
        return PerforationLayers()

    def on_epoch_end(self, model: nn.Module, ctx: EpochContext) -> None:
        dense_epochs = self.config.dense_epochs
        if ctx.epochs < dense_epochs:
            raise ValueError(
                f"perforated_cnn: method.dense_epochs ({dense_epochs}) exceeds training.epochs "
                f"({ctx.epochs}); the network would never be perforated"
            )
        if not self.perforation and ctx.epoch >= dense_epochs - 1:
            self.perforate(model, ctx)

    def perforate(self, model: nn.Module, ctx: EpochContext) -> None:
        """Perforate every conv layer with the configured mask and rate, measuring the
        validation loss before and after."""
        convs = perforated_convs(model)
        config = self.config
        if len(config.rates) > 1 and len(config.rates) != len(convs):
            raise ValueError(
                f"perforated_cnn: method.rates has {len(config.rates)} values but model "
                f"{self.model_name!r} has {len(convs)} conv layers; give one per layer or one"
            )
        training = model.training
        model.eval()
        before = mean_loss(model, ctx.x_val, ctx.y_val, ctx.batch_size)
        sizes = output_sizes(model, ctx.x_val)
        generator = torch.Generator().manual_seed(int(torch.randint(2**62, ())))
        sweep = {}
        for rate in config.sweep_rates:
            self.apply_masks(model, {conv: rate for conv in convs}, sizes, ctx, generator)
            after = mean_loss(model, ctx.x_val, ctx.y_val, ctx.batch_size)
            sweep[f"loss_increase_at_rate_{round(100 * rate)}"] = after - before
            for conv in convs:
                conv.unperforate()
        rates = {conv: config.rate_of(i) for i, conv in enumerate(convs)}
        self.apply_masks(model, rates, sizes, ctx, generator)
        after = mean_loss(model, ctx.x_val, ctx.y_val, ctx.batch_size)
        model.train(training)
        positions = sum(h * w for h, w in sizes.values())
        kept = sum(len(conv.kept) for conv in convs)
        self.perforation = {
            "perforation_rate": 1 - kept / positions if positions else 0.0,
            "dense_val_loss": before,
            "perforated_val_loss": after,
            "perforation_loss_increase": after - before,
            **sweep,
        }

    def apply_masks(
        self,
        model: nn.Module,
        rates: dict[PerforatedConv2d, float],
        sizes: dict[PerforatedConv2d, tuple[int, int]],
        ctx: EpochContext,
        generator: torch.Generator,
    ) -> None:
        """Perforate each conv of `rates` at its rate with the configured mask."""
        config = self.config
        if config.mask == "impact":
            n = config.impact_examples
            impact_masks(
                model,
                sizes,
                rates,
                ctx.x_train[:n],
                ctx.y_train[:n],
                config.impact_steps,
                ctx.batch_size,
                generator,
            )
            return
        pools = following_pools(model)
        for conv, rate in rates.items():
            if config.mask == "uniform":
                mask = uniform_mask(sizes[conv], rate, generator)
            elif config.mask == "grid":
                mask = grid_mask(sizes[conv], rate, generator)
            else:
                mask = pooling_mask(sizes[conv], rate, pools[conv], generator)
            conv.perforate(mask, generator)

    def run_metrics(self, model: nn.Module) -> dict[str, float]:
        convs = [conv for conv in perforated_convs(model) if conv.perforated]
        if not convs:
            return dict(self.perforation)
        im2col, torch_conv = layer_speedups(convs, self.config.timing_batch)
        return {
            **self.perforation,
            "perforation_speedup": im2col,
            "perforation_speedup_torch": torch_conv,
        }

    def state_dict(self) -> dict[str, Any]:
        return {"perforation": dict(self.perforation)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.perforation = dict(state["perforation"])
