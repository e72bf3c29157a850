"""Report figures: which rows a figure draws from."""

from __future__ import annotations

import pandas as pd
import pytest

from methodlib.errors import RunError
from methodlib.paths import Layout
from methodlib.report.plots import epoch_frame, figure_frame, plot_figure
from methodlib.report.tables import COLUMNS, add_dee, curves
from methodlib.spec import FigureSpec, StudySpec
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


def test_numbered_metrics_draw_against_their_number(tmp_path):
    rows = tidy()
    keys = rows.iloc[0][["experiment", "method", "dataset", "model"]].to_dict()
    extra = [
        {**keys, "seed": "0", "samples": 1, "metric": f"accuracy_after_chunk_{k}", "value": v}
        for k, v in [(1, 0.5), (2, 0.7), (10, 0.9)]
    ]
    frame_in = pd.concat([rows, pd.DataFrame(extra)], ignore_index=True)
    figure = FigureSpec(kind="line", x="chunk", y="accuracy_after_chunk_*")
    frame = figure_frame(tiny_pipeline(), figure, frame_in)
    assert frame[["chunk", "accuracy_after_chunk_*"]].values.tolist() == [
        [1, 0.5],
        [2, 0.7],
        [10, 0.9],
    ]
    with pytest.raises(RunError, match="no metric of these runs is named nope_<number>"):
        figure_frame(tiny_pipeline(), FigureSpec(x="k", y="nope_*"), frame_in)


def test_dee_rows_are_read_off_the_reference_ensemble():
    pipeline = tiny_pipeline(
        ensemble={},
        others={
            "mc": {
                "dataset": "digits",
                "model": "lenet300_100",
                "method": {"name": "mc_dropout"},
            }
        },
    )
    pipeline.studies["main"] = StudySpec(dee_reference="exp")
    keys = {"dataset": "digits", "model": "lenet300_100"}
    m = "test_calibrated_nll"
    rows = [
        ("exp", "dense", "all", 1, f"curve_{m}", 0.30),
        ("exp", "dense", "all", 2, f"curve_{m}", 0.20),
        ("exp", "dense", "all", 3, f"curve_{m}", 0.16),
        ("exp", "dense", "all", 3, m, 0.16),
        ("exp", "dense", "0", 1, m, 0.31),
        ("mc", "mc_dropout", "0", 4, m, 0.25),
        ("mc", "mc_dropout", "1", 4, m, 0.35),  # DEE 1 on its own: the seed mean 0.30 reads 1
        ("mc", "mc_dropout", "0", 2, f"curve_{m}", 0.27),
        ("mc", "mc_dropout", "1", 2, f"curve_{m}", 0.27),
        ("mc", "mc_dropout", "0", 4, f"curve_{m}", 0.18),
        ("mc", "mc_dropout", "1", 4, f"curve_{m}", 0.18),
    ]
    frame = pd.DataFrame(
        [
            dict(
                zip(["experiment", "method", "seed", "samples", "metric", "value"], r, strict=True),
                **keys,
            )
            for r in rows
        ],
        columns=COLUMNS,
    )
    out = add_dee(pipeline, "main", frame)
    dee = out[out["metric"].str.endswith("dee")]
    assert set(dee["seed"]) == {"mean"}  # one DEE per experiment and k: of the seed mean
    dee = dee.set_index(["experiment", "samples", "metric"])
    assert dee.loc[("mc", 4, "dee"), "value"] == pytest.approx(1.0)  # not (1.5 + 1) / 2
    assert dee.loc[("mc", 2, "curve_dee"), "value"] == pytest.approx(1.3)
    assert dee.loc[("mc", 4, "curve_dee"), "value"] == pytest.approx(2.5)
    assert dee.loc[("exp", 1, "dee"), "value"] == 1.0  # worse than one network: clipped to 1
    assert ("exp", 3, "dee") not in dee.index  # the reference itself gets none
    assert set(curves(out)["metric"]) == {m, "dee"}


def test_epoch_figures_draw_a_training_log_column_per_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the run folders of the layout are relative to the project
    pipeline = tiny_pipeline()
    for seed, losses in [(0, [3.0, 2.0]), (1, [5.0, 4.0])]:
        run = tmp_path / Layout(pipeline).run_dir("exp", seed)
        run.mkdir(parents=True)
        pd.DataFrame({"epoch": [1, 2], "val_loss": losses}).to_csv(run / "train_log.csv")
    pipeline.reports["loss"] = FigureSpec(kind="epochs", x="epoch", y="val_loss", hue="experiment")
    tidy().to_csv(tmp_path / "t.csv", index=False)
    plot_figure(pipeline, "loss", tmp_path / "t.csv", tmp_path / "loss.png")
    assert (tmp_path / "loss.png").stat().st_size > 1000


def test_an_epoch_curve_keeps_the_log_column_when_a_run_metric_shares_its_name(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    pipeline = tiny_pipeline()
    run = tmp_path / Layout(pipeline).run_dir("exp", 0)
    run.mkdir(parents=True)
    pd.DataFrame({"epoch": [1, 2, 3], "elbo": [-3.0, -2.0, -1.5]}).to_csv(run / "train_log.csv")
    runs = pd.DataFrame([{"experiment": "exp", "seed": 0, "elbo": -1.5}])  # the final value
    frame = epoch_frame(pipeline, runs, "elbo")
    assert frame["elbo"].tolist() == [-3.0, -2.0, -1.5]
    assert frame["experiment"].tolist() == ["exp"] * 3
