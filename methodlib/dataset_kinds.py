"""What the schema and the data agree on about a dataset's kind: which `synthetic` kinds are
targets with a closed-form density. A declaration at the bottom floor, beside the tasks' and
the methods': the schema (`spec.py`) validates against it and the data modules
(`data/sources.py`, `data/densities.py`) generate from it, so neither imports the other."""

from __future__ import annotations

from typing import Any

DENSITY_KINDS = ("ring", "banana", "mixture2d")
"""The `synthetic` kinds whose density is known in closed form (`methodlib/data/densities.py`)."""


def has_density(spec: Any) -> bool:
    """Whether a dataset's examples (a dataset spec) are draws of a target known in closed
    form."""
    return getattr(spec, "source", None) == "synthetic" and spec.kind in DENSITY_KINDS
