"""The results table of reports/index.md: experiments by display name, headers and numbers
as the metric registry writes them."""

from __future__ import annotations

import pandas as pd

from methodlib.report.index import write_index
from methodlib.report.tables import COLUMNS
from tests.conftest import tiny_pipeline


def row(experiment: str, seed: str, metric: str, value: float, samples: int = 1) -> dict:
    method = {"exp": "dense", "mc": "mc_dropout"}[experiment]
    keys = {"dataset": "digits", "model": "lenet300_100", "method": method}
    return {
        **keys,
        "experiment": experiment,
        "seed": seed,
        "samples": samples,
        "metric": metric,
        "value": value,
    }


def test_the_table_names_experiments_and_metrics_for_the_reader(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pipeline = tiny_pipeline(
        ensemble={},
        others={
            "mc": {"dataset": "digits", "model": "lenet300_100", "method": {"name": "mc_dropout"}}
        },
    )
    rows = [
        row("mc", "0", "test_error", 0.03),
        row("exp", "0", "test_error", 0.04),
        row("exp", "1", "test_error", 0.06),
        row("exp", "0", "params", 50610.0),
        row("exp", "all", "test_error", 0.025, samples=2),  # the deep ensemble of 2 members
    ]
    pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp_path / "metrics.csv", index=False)
    write_index(pipeline, tmp_path / "metrics.csv", tmp_path / "index.md")
    table = [line for line in (tmp_path / "index.md").read_text().splitlines() if "|" in line]
    assert table[0] == "| Experiment | Seeds | Test error (%) ↓ | Parameters ↓ |"
    assert table[2] == "| Dense | 2 | 5.00% ± 1.41% | 50,610 |"  # the file's order
    assert table[3] == "| MC dropout | 1 | 3.00% ± 0.00% |  |"
    assert table[4] == "| Deep ensemble | 2 | 2.50% |  |"
