"""Reliability diagrams with per-bin counts and risk–coverage curves, drawn from metrics.json
files as the evaluation writes them: what each panel shows, not only that a PNG appears."""

from __future__ import annotations

import numpy as np
import pytest

from methodlib.errors import RunError
from methodlib.io import write_json
from methodlib.metrics.selective import aurc, risk_coverage_curve
from methodlib.metrics.uncertainty import ece, reliability_bins
from methodlib.report import uncertainty_plots
from methodlib.report.metric_registry import format_value
from methodlib.report.uncertainty_plots import plot_reliability, plot_risk_coverage
from tests.conftest import tiny_pipeline

N = 400


def pipeline():
    return tiny_pipeline(
        others={
            "drop": {
                "dataset": "digits",
                "model": "lenet300_100",
                "method": {"name": "mc_dropout", "samples": 4},
            }
        },
        ensemble={},
    )


def outputs(seed: int, sharpness: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(N, 10)) * sharpness
    labels = np.where(rng.random(N) < 0.7, logits.argmax(1), rng.integers(0, 10, N))
    return np.exp(logits) / np.exp(logits).sum(1, keepdims=True), labels


def metrics_file(tmp_path, experiment: str, seed, sharpness: float) -> str:
    """A metrics.json with what plots read: the test AURC, reliability bins and the curve."""
    p, labels = outputs(len(experiment) + int(10 * sharpness), sharpness)
    result = {
        "experiment": experiment,
        "seed": seed,
        "metrics": {"test_aurc": aurc(p, labels), "test_ece": ece(p, labels)},
        "reliability": reliability_bins(p, labels),
        "risk_coverage": risk_coverage_curve(p, labels),
    }
    if seed == "all":
        result["members"] = [0, 1, 2]
    path = tmp_path / f"{experiment}-{seed}.json"
    write_json(path, result)
    return str(path)


@pytest.fixture
def drawn(monkeypatch):
    """The figure a plot function would save, kept open for inspection."""
    figures = []
    monkeypatch.setattr(uncertainty_plots, "save_figure", lambda fig, out: figures.append(fig))
    return figures


@pytest.fixture
def files(tmp_path) -> list[str]:
    return [
        metrics_file(tmp_path, "exp", 0, 1.0),
        metrics_file(tmp_path, "drop", 0, 3.0),
        metrics_file(tmp_path, "exp", "all", 2.0),
    ]


def test_risk_coverage_legend_names_each_curve_with_its_aurc_best_first(files, drawn):
    plot_risk_coverage(pipeline(), "default", files, "unused.png")
    (ax,) = drawn[0].axes
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    areas = sorted((uncertainty_plots.read_json(f)["metrics"]["test_aurc"], f) for f in files)
    assert [entry.rsplit("AURC ", 1)[1] for entry in legend] == [
        format_value("test_aurc", a) for a, _ in areas
    ]
    assert any(entry.startswith("Deep ensemble") for entry in legend)
    assert any(entry.startswith("MC dropout") for entry in legend)
    curve = uncertainty_plots.read_json(files[0])["risk_coverage"]
    line = next(line for line in ax.get_lines() if line.get_label().startswith("Dense"))
    assert list(line.get_ydata()) == [point["risk"] for point in curve]


def test_risk_coverage_starts_where_the_first_error_is(tmp_path, drawn):
    path = tmp_path / "m.json"
    curve = [{"coverage": c / 100, "risk": 0.0 if c < 57 else 0.01} for c in range(1, 101)]
    write_json(
        path,
        {"experiment": "exp", "seed": 0, "metrics": {"test_aurc": 0.1}, "risk_coverage": curve},
    )
    plot_risk_coverage(pipeline(), "default", [path], "unused.png")
    (ax,) = drawn[0].axes
    assert ax.get_xlim() == (0.5, 1.0)
    assert any("risk is 0 below 50%" in t.get_text() for t in ax.texts)


def test_reliability_panels_count_the_examples_of_each_ece_bin(files, drawn):
    plot_reliability(pipeline(), "default", files, "unused.png")
    axes = drawn[0].axes
    assert len(axes) == 2 * len(files)  # a diagram and its histogram per run
    for i, path in enumerate(files):
        diagram, counts = axes[2 * i], axes[2 * i + 1]
        bins = uncertainty_plots.read_json(path)["reliability"]
        heights = [bar.get_height() for bar in counts.patches]
        assert heights == [b["count"] for b in bins] and sum(heights) == N
        assert [bar.get_x() for bar in counts.patches] == [b["lower"] for b in bins]
        ece_text = format_value(
            "test_ece", uncertainty_plots.read_json(path)["metrics"]["test_ece"]
        )
        assert any(t.get_text() == f"ECE {ece_text}" for t in diagram.texts)
    assert "members" in axes[4].get_title()  # the ensemble's panel says what it averages


def test_a_run_evaluated_before_the_curves_is_named(tmp_path):
    path = tmp_path / "old.json"
    write_json(path, {"experiment": "exp", "seed": 0, "metrics": {}})
    with pytest.raises(RunError, match="old.json: no 'risk_coverage'.*evaluate that run again"):
        plot_risk_coverage(pipeline(), "default", [path], tmp_path / "out.png")


def test_the_figures_are_written(files, tmp_path):
    plot_risk_coverage(pipeline(), "default", files, tmp_path / "rc.png")
    plot_reliability(pipeline(), "default", files, tmp_path / "rel.png")
    assert (tmp_path / "rc.png").stat().st_size > 10_000
    assert (tmp_path / "rel.png").stat().st_size > 10_000
