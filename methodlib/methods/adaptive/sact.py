"""`sact`: spatially adaptive computation time (Figurnov et al. 2017, "Spatially adaptive
computation time for residual networks", CVPR; reference code mfigurnov/sact). ACT applied to
every spatial position of a group's feature map: the halting score of a position is
σ(conv3×3(x) + w · avgpool(x) + b), its own plus the image's context; a position that halts
keeps its features while the others go on, and the units are paid only where positions are
still active. The ponder cost of an image is the mean over positions of ρ = N + R, summed over
groups; its ponder map, the per-position ρ, shows where the network spent its computation
(on cluttered digits: on the digit, `ponder_auroc`)."""

from __future__ import annotations

from methodlib.methods.adaptive.base import AdaptiveMethod
from methodlib.methods.adaptive.configs import SACTConfig


class SACT(AdaptiveMethod):
    Config = SACTConfig
    halting = "sact"
