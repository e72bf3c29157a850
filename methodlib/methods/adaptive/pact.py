"""`pact`: probabilistic adaptive computation time (Figurnov, Sobolev & Vetrov 2018,
"Probabilistic adaptive computation time", Bull. Pol. Acad. Sci.). The number of units an
image runs in a group is set by discrete halting variables z^n ~ Bernoulli(h^n), h^n the
image's halting score after unit n: the image stops at the first z^n = 1. Training replaces
each z by a Concrete (relaxed Bernoulli) draw at temperature λ, so that the unit outputs are
mixed with the smooth weights p^n = z^n Π_{i<n}(1 − z^i) and the loss, cross-entropy + τ times
the expected number of units Σ_n n p^n (the log of a prior that prefers fewer units, up to a
constant), has a reparameterisation gradient. Evaluation is deterministic: z^n = [h^n ≥ ½],
one unit output, no weighted sum to keep."""

from __future__ import annotations

from methodlib.methods.adaptive.base import AdaptiveMethod
from methodlib.methods.adaptive.configs import PACTConfig


class PACT(AdaptiveMethod):
    Config = PACTConfig
    halting = "pact"
