"""Report figures: which rows a figure draws from."""

from __future__ import annotations

import pandas as pd

from methodlib.report.plots import figure_frame, plot_figure
from methodlib.report.tables import COLUMNS
from methodlib.spec import FigureSpec
from tests.conftest import tiny_pipeline


def tidy() -> pd.DataFrame:
    keys = {"method": "dense", "dataset": "digits", "model": "lenet300_100"}
    rows = [
        {**keys, "experiment": "exp", "seed": seed, "samples": k, "metric": metric, "value": v}
        for seed, k, metric, v in [
            ("0", 1, "test_error", 0.1),
            ("1", 1, "test_error", 0.2),
            ("all", 2, "test_error", 0.05),
            ("all", 1, "curve_test_error", 0.15),
            ("all", 2, "curve_test_error", 0.05),
        ]
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def test_run_figures_draw_one_row_per_seed_without_group_rows():
    frame = figure_frame(tiny_pipeline(), FigureSpec(x="model", y="test_error"), tidy())
    assert sorted(frame["test_error"]) == [0.1, 0.2]


def test_curve_figures_draw_the_metric_against_samples(tmp_path):
    figure = FigureSpec(kind="line", x="samples", y="curve_test_error", hue="experiment")
    frame = figure_frame(tiny_pipeline(), figure, tidy())
    assert frame[["samples", "curve_test_error"]].values.tolist() == [[1, 0.15], [2, 0.05]]
    pipeline = tiny_pipeline()
    pipeline.reports["curve"] = figure
    tidy().to_csv(tmp_path / "t.csv", index=False)
    plot_figure(pipeline, "curve", tmp_path / "t.csv", tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 1000
