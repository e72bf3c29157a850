"""`fge`: fast geometric ensembling (Garipov et al. 2018).

"Loss Surfaces, Mode Connectivity, and Fast Ensembling of DNNs": starting from a trained
network (the experiment's `init_from`, a `dense` run of the same seed), a short triangular
cyclic learning rate moves the weights along paths of low loss to nearby, different minima;
a snapshot taken at each low point of the rate joins the ensemble.

Within a cycle of `cycle_epochs` epochs, at fraction t, the rate is
lr_low + (lr_high − lr_low)·(1 − |2t − 1|) times the base rate: from `lr_low` up to `lr_high` at
the middle and back down, with the snapshot at the cycle's end. This is the paper's triangle
shifted by half a cycle, so that the low points fall on epoch boundaries for any cycle length
and the pre-trained network is first trained at the low rate. A last cycle cut short by the
end of training is compressed to the epochs left. The method owns the learning-rate schedule
(`training.lr_schedule` is overridden).
"""

from __future__ import annotations

from methodlib.methods.ensembles.configs import FGEConfig
from methodlib.methods.ensembles.snapshots import SnapshotEnsemble


class FGE(SnapshotEnsemble):
    Config = FGEConfig
    config: FGEConfig

    def cycle_starts(self, epochs: int) -> list[int]:
        return list(range(0, epochs, self.config.cycle_epochs))

    def shape(self, t: float) -> float:
        low, high = self.config.lr_low, self.config.lr_high
        return low + (high - low) * (1.0 - abs(2.0 * t - 1.0))
