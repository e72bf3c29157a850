"""`act`: adaptive computation time per image (Graves 2016, "Adaptive computation time for
recurrent neural networks", applied to residual units as in Figurnov et al. 2017). In every
group, after each residual unit a halting score h = σ(w · avgpool(x) + b) is read from the
pooled features; the image stops once the scores sum to 1 − ε and the group's output is the
scores' weighted sum of the unit outputs, the last weight the remainder R. The loss adds τ
times the ponder cost ρ = N + R summed over groups. The image-level baseline of SACT: the
whole image gets the same depth, so its ponder map is flat."""

from __future__ import annotations

from methodlib.methods.adaptive.base import AdaptiveMethod
from methodlib.methods.adaptive.configs import ACTConfig


class ACT(AdaptiveMethod):
    Config = ACTConfig
    halting = "act"
