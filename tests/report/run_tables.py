"""The tidy table of per-run rows that the report tests decide claims and selections on."""

from __future__ import annotations

import pandas as pd

from methodlib.report.tables import COLUMNS


def run_table(
    values: dict[str, list[float] | dict],
    metric: str = "test_calibrated_nll",
    model: str = "lenet300_100",
) -> pd.DataFrame:
    """One row per run of each experiment: a list is seeds 0, 1, ...; a dict maps seeds (or
    seed labels such as `0+1`) to values."""
    rows = [
        {
            "experiment": e,
            "method": "dense",
            "dataset": "digits",
            "model": model,
            "seed": str(s),
            "samples": 1,
            "metric": metric,
            "value": v,
        }
        for e, vs in values.items()
        for s, v in (vs.items() if isinstance(vs, dict) else enumerate(vs))
    ]
    return pd.DataFrame(rows, columns=COLUMNS)
