"""`sse`: snapshot ensembles (Huang et al. 2017).

"Snapshot Ensembles: Train 1, Get M for Free": the run is split into `cycles` M cosine-annealed
cycles with warm restarts (Loshchilov & Hutter 2017). At fraction t of a cycle the learning rate
is ½·(1 + cos(π·t)) × the base rate: it falls from the base rate towards zero, where the network
settles into a minimum and its weights are saved, then jumps back to the base rate and sends it
on to another. The test prediction averages the M snapshots' softmax outputs.

Cycles are whole epochs: cycle k (0-based) starts at epoch ⌈k·E/M⌉ of E, so with E divisible by
M every cycle has E/M epochs, and otherwise their lengths differ by one. With fewer epochs than
cycles, each epoch is a cycle. The method owns the learning-rate schedule
(`training.lr_schedule` is overridden).
"""

from __future__ import annotations

import math

from methodlib.methods.ensembles.configs import SSEConfig
from methodlib.methods.ensembles.snapshots import SnapshotEnsemble


class SSE(SnapshotEnsemble):
    Config = SSEConfig
    config: SSEConfig

    def cycle_starts(self, epochs: int) -> list[int]:
        m = self.config.cycles
        return sorted({math.ceil(k * epochs / m) for k in range(m)} - {epochs})

    def shape(self, t: float) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * t))
