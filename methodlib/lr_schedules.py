"""The learning-rate shape of Izmailov et al. 2018's code (timgaripov/swa, `schedule`), shared by
SWA's pre-averaging phase and the conventionally decayed SGD run it is compared with.

Torch-free: the spec's schedules name it, the loop and the SWA method both call it.
"""

from __future__ import annotations

SGD_FINAL = 0.01
"""The SGD baseline's last rate as a share of the first (the reference's `lr_ratio` without
`--swa`)."""


def anneal(t: float, low: float) -> float:
    """The factor at fraction t of a phase: 1 up to a half, then linear to `low` at 0.9, then
    `low`. Over a whole run with `low` = `SGD_FINAL` it is the SGD baseline's schedule; over the
    epochs before averaging with `low` = `swa_lr` it is SWA's."""
    if t <= 0.5:
        return 1.0
    if t <= 0.9:
        return 1.0 - (1.0 - low) * (t - 0.5) / 0.4
    return low
