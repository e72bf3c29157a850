"""A small residual network whose units halt adaptively: per image (ACT, Graves 2016), per
spatial position (SACT, Figurnov et al. 2017, "Spatially adaptive computation time for residual
networks", reference code mfigurnov/sact) or by discrete halting variables (PACT, Figurnov,
Sobolev & Vetrov 2018, "Probabilistic adaptive computation time").

Layout (a miniature of the SACT paper's ResNet): ResNet's stem (a stride-2 convolution, here
3 × 3, and 2 × 2 max pooling), `groups` groups of `units` residual units each (a 3 × 3 stride-2 convolution between groups halves the
resolution), global average pooling and a linear classifier. Inside a group every unit n has a
halting score h^n ∈ (0, 1) computed from its output (the last unit's is 1); a halting rule
turns the scores into weights p^n (summing to one per image or position) and the group's
output is Σ_n p^n x^n, x^n the output of unit n:

- "act" / "sact" (`ACTRule`): N = min{n : h^1 + ... + h^n ≥ 1 − ε}, p^n = h^n for n < N and
  the remainder R = 1 − (h^1 + ... + h^{N−1}) at n = N; the ponder cost is ρ = N + R, whose
  gradient reaches the scores through R (N is piecewise constant). ACT takes the score from
  the globally pooled features, one per image; SACT from a 3 × 3 convolution of the features
  plus the pooled term, one per position, and a position that has halted keeps its features
  while its neighbours go on (the units are computed densely and masked; the FLOPs count what
  the reference's sparse evaluation spends: a unit's second convolution at the positions still
  active, its first at those the second reads, the active mask dilated by 3 × 3).
- "pact" (`PACTRule`): halting variables z^n ~ Bernoulli(h^n); unit n+1 runs only if every
  z^i = 0 for i ≤ n, so p^n = z^n Π_{i<n}(1 − z^i) is one-hot. Training draws z from the
  Concrete (relaxed Bernoulli) distribution at temperature λ, which makes p smooth and the
  expected cost ρ = Σ_n n p^n differentiable; evaluation is deterministic: z^n = [h^n ≥ ½],
  so the network runs units until the first score of at least one half.

The ponder cost of an image is the sum over groups of the mean over positions of ρ (the SACT
paper's); its ponder map is the sum of the groups' ρ maps brought to the first group's
resolution (nearest upsampling). The halting biases start at −3 (reference code), so training
starts with most units in use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from methodlib.models.layers import Layers

HALTING_BIAS = -3.0
HALTINGS = ("act", "sact", "pact")


class ResidualUnit(nn.Module):
    """x + conv(relu(bn(conv(relu(bn(x)))))), 3 × 3 convolutions keeping the width (ResNet's
    pre-activation unit). In training every position is computed and batch norm's statistics
    run over all of them, halted or not, as the reference code's dense training does."""

    def __init__(self, width: int, layers: Layers):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(width), nn.BatchNorm2d(width)
        self.conv1 = layers.conv2d(width, width, 3, padding=1)
        self.conv2 = layers.conv2d(width, width, 3, padding=1)
        self.macs_per_conv = 9 * width * width
        """MACs of one convolution at one output position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))

    def macs(self, active: torch.Tensor) -> torch.Tensor:
        """MACs on each image whose unit updates the positions where `active` (B, 1, H, W,
        bool) holds: the second convolution at those positions, the first at the positions
        the second reads, the mask dilated by 3 × 3 (the reference's
        `diluted_residual_mask`, a 3 × 3 max pooling of the mask at stride 1)."""
        mask = active.float()
        diluted = F.max_pool2d(mask, 3, stride=1, padding=1)
        return self.macs_per_conv * (diluted.flatten(1).sum(1) + mask.flatten(1).sum(1))


class HaltingUnit(nn.Module):
    """The logit of the halting score: w · bn(avgpool(x)) + b, plus a 3 × 3 convolution of
    bn(x) (one output channel) for per-position halting; shape (B, 1, H, W) or (B, 1, 1, 1).

    The batch norms are the reference code's (mfigurnov/sact, `resnet_act.py`:
    `get_halting_proba` pools, batch-normalises and applies a 1 × 1 convolution and the
    sigmoid; `get_halting_proba_conv` batch-normalises the features before its 3 × 3
    convolution and the pooled features before the global term). They make the scores
    independent of the features' scale, which drifts as the units train. The CIFAR model's
    argument scope also puts a leaky ReLU after every batch norm, its ImageNet model none:
    here, as on ImageNet, none."""

    def __init__(self, width: int, spatial: bool):
        super().__init__()
        self.pooled_bn = nn.BatchNorm1d(width)
        self.pooled = nn.Linear(width, 1)
        nn.init.constant_(self.pooled.bias, HALTING_BIAS)
        self.bn = nn.BatchNorm2d(width) if spatial else None
        self.conv = nn.Conv2d(width, 1, 3, padding=1, bias=False) if spatial else None
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logit = self.pooled(self.pooled_bn(x.mean(dim=(2, 3))))[:, :, None, None]
        return logit if self.conv is None else logit + self.conv(self.bn(x))

    def macs(self, positions: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """MACs on each image with `positions` active positions; `images` is 1 where any is."""
        per_position = 9 * self.width if self.conv is not None else 0
        return per_position * positions + self.width * images


class ACTRule:
    """ACT's halting (per image or per position, by the shape of the scores): cumulative
    scores up to 1 − ε, the remainder at the halting unit, ρ = N + R."""

    def __init__(self, eps: float):
        self.eps = eps

    def start(self, like: torch.Tensor) -> None:
        self.cum = torch.zeros_like(like)

    def step(
        self, logit: torch.Tensor | None, active: torch.Tensor, n: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Weights p^n, what halts at unit n (bool) and this unit's share of ρ; `logit` is
        None at a group's last unit, whose score is 1."""
        h = torch.ones_like(self.cum) if logit is None else torch.sigmoid(logit)
        halting = active & ((self.cum + h >= 1 - self.eps) | (logit is None))
        remainder = 1 - self.cum
        p = torch.where(halting, remainder, h) * active
        ponder = active.float() + torch.where(halting, remainder, torch.zeros_like(h))
        self.cum = self.cum + h * active
        return p, halting, ponder


class PACTRule:
    """PACT's halting variables: relaxed Bernoulli (Concrete, temperature λ) in training, the
    hard z = [h ≥ ½] in evaluation; p^n = z^n Π_{i<n}(1 − z^i), ρ = Σ_n n p^n."""

    def __init__(self, temperature: float, training: bool):
        self.temperature, self.training = temperature, training

    def start(self, like: torch.Tensor) -> None:
        self.keep = torch.ones_like(like)

    def step(
        self, logit: torch.Tensor | None, active: torch.Tensor, n: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if logit is None:
            z = torch.ones_like(self.keep)
        elif self.training:
            z = relaxed_bernoulli(logit, self.temperature)
        else:
            z = (logit >= 0).float()  # h ≥ ½
        p = z * self.keep * active
        self.keep = self.keep * (1 - z)
        if self.training and logit is not None:  # relaxed: every unit runs, weighted by p
            halting = torch.zeros_like(active)
        else:
            halting = active & (z >= 1)
        return p, halting, p * (n + 1)


def relaxed_bernoulli(logit: torch.Tensor, temperature: float) -> torch.Tensor:
    """A Concrete (relaxed Bernoulli) draw σ((logit + L) / λ), L standard logistic noise."""
    u = torch.rand_like(logit).clamp(1e-6, 1 - 1e-6)
    return torch.sigmoid((logit + torch.log(u) - torch.log1p(-u)) / temperature)


@dataclass
class PonderStats:
    """What the last forward pass spent, per image: `cost` (B,) the ponder cost, `map`
    (B, H, W) the ponder map at the first group's resolution, `macs` (B,) multiply-adds."""

    cost: torch.Tensor
    map: torch.Tensor
    macs: torch.Tensor


class AdaptiveGroup(nn.Module):
    """`units` residual units at one resolution with a halting unit after each but the last."""

    def __init__(self, width: int, units: int, spatial: bool, layers: Layers):
        super().__init__()
        self.units = nn.ModuleList(ResidualUnit(width, layers) for _ in range(units))
        self.halting = nn.ModuleList(HaltingUnit(width, spatial) for _ in range(units - 1))
        self.spatial = spatial

    def forward(self, x: torch.Tensor, rule) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The group's output Σ p^n x^n, its ρ map (B, 1, H or 1, W or 1) and MACs (B,)."""
        b, _, height, width = x.shape
        shape = (b, 1, height, width) if self.spatial else (b, 1, 1, 1)
        active = torch.ones(shape, dtype=torch.bool, device=x.device)
        rule.start(torch.zeros(shape, device=x.device))
        out = torch.zeros_like(x)
        ponder = torch.zeros(shape, device=x.device)
        macs = torch.zeros(b, device=x.device)
        for n, unit in enumerate(self.units):
            if not active.any():
                break
            mask = active.expand(b, 1, height, width)
            positions = mask.flatten(1).sum(1).float()
            macs = macs + unit.macs(mask)
            x = torch.where(active, unit(x), x)  # a halted image or position keeps its features
            logit = None
            if n < len(self.halting):
                logit = self.halting[n](x)
                macs = macs + self.halting[n].macs(positions, (positions > 0).float())
            p, halting, cost = rule.step(logit, active, n)
            out = out + p * x
            ponder = ponder + cost
            active = active & ~halting
        return out, ponder, macs


class AdaptiveResNet(nn.Module):
    """Stem, `groups` adaptive groups of `units` residual units `width` channels wide, pooled
    linear classifier (see the module's docstring). `forward` returns logits and keeps what
    it spent in `stats` (a `PonderStats`)."""

    def __init__(
        self,
        input_shape: tuple[int, ...],
        n_classes: int,
        layers: Layers | None = None,
        halting: str = "act",
        units: int = 3,
        width: int = 16,
        groups: int = 2,
        eps: float = 0.01,
        temperature: float = 0.5,
    ):
        super().__init__()
        if halting not in HALTINGS:
            raise ValueError(f"halting {halting!r} is not one of {', '.join(HALTINGS)}")
        layers = layers or Layers()
        channels, height, wide = input_shape
        self.halting, self.eps, self.temperature = halting, eps, temperature
        self.stem = nn.Conv2d(channels, width, 3, stride=2, padding=1)
        self.transitions = nn.ModuleList(
            nn.Conv2d(width, width, 3, stride=2, padding=1) for _ in range(groups - 1)
        )
        self.groups = nn.ModuleList(
            AdaptiveGroup(width, units, halting == "sact", layers) for _ in range(groups)
        )
        self.head = layers.linear(width, n_classes)
        sides = [(math.ceil(height / 4), math.ceil(wide / 4))]  # after the stem and its pool
        for _ in range(groups - 1):
            sides.append((math.ceil(sides[-1][0] / 2), math.ceil(sides[-1][1] / 2)))
        self.sides = sides
        self.fixed_macs = (
            9 * channels * width * math.ceil(height / 2) * math.ceil(wide / 2)
            + sum(9 * width * width * h * w for h, w in sides[1:])
            + width * n_classes
        )
        """MACs every image spends whatever halts: the stem, the transitions and the head."""
        self.stats: PonderStats | None = None

    def rule(self) -> ACTRule | PACTRule:
        if self.halting == "pact":
            return PACTRule(self.temperature, self.training)
        return ACTRule(self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.stem(x)), 2, ceil_mode=True)
        first = self.sides[0]
        costs, maps, macs = [], [], torch.full((len(x),), float(self.fixed_macs), device=x.device)
        for g, group in enumerate(self.groups):
            if g > 0:
                x = F.relu(self.transitions[g - 1](x))
            x, ponder, group_macs = group(x, self.rule())
            costs.append(ponder.mean(dim=(1, 2, 3)))
            if ponder.shape[2] == 1:  # one cost per image: the same everywhere
                maps.append(ponder[:, 0].expand(len(x), *first))
            else:  # nearest upsampling by 2^g, cropped where the sides were odd
                up = ponder[:, 0].repeat_interleave(2**g, 1).repeat_interleave(2**g, 2)
                maps.append(up[:, : first[0], : first[1]])
            macs = macs + group_macs
        self.stats = PonderStats(sum(costs), sum(maps), macs)
        return self.head(x.mean(dim=(2, 3)))

    def macs(self, inp: torch.Tensor, out: torch.Tensor) -> float:
        """The mean MACs of the last forward pass (`count_flops` asks after a pass on zeros)."""
        return float(self.stats.macs.mean())
