"""Figures of classifiers' uncertainty drawn from their metrics.json alone (no predictions are
read again): reliability diagrams with the number of examples in each confidence bin, and
risk–coverage curves with their area (AURC).

A reliability diagram without its counts hides that a network puts almost every test example
in the top bin: a bar far off the diagonal may hold three examples. The histogram under each
diagram shows where the examples are, in the same 15 equal-width bins as the ECE. A
risk–coverage curve shows what calibration does not: whether the confidence ranks errors
last, the question a user who lets the model abstain asks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on cluster nodes or CI

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

from methodlib.errors import RunError  # noqa: E402
from methodlib.io import read_json  # noqa: E402
from methodlib.report.labels import ENSEMBLE_SEED, run_labels  # noqa: E402
from methodlib.report.metric_registry import format_value  # noqa: E402
from methodlib.report.plots import save_figure  # noqa: E402
from methodlib.spec import Pipeline  # noqa: E402

PANELS_PER_ROW = 4


def read_results(metrics_files: list[str | Path], key: str) -> list[dict[str, Any]]:
    """The runs' (and ensembles') metrics.json, each of which must hold `key`."""
    results = []
    for path in metrics_files:
        result = read_json(path)
        if not result.get(key):
            raise RunError(f"{path}: no {key!r} in it; evaluate that run again")
        results.append(result)
    if not results:
        raise RunError(f"no metrics.json to draw {key!r} from")
    return results


def result_labels(pipeline: Pipeline, results: list[dict[str, Any]]) -> list[str]:
    """Legend names: the experiment's, or its ensemble's for a group's metrics.json."""
    return run_labels(
        pipeline, [r["experiment"] for r in results], [str(r["seed"]) for r in results]
    )


def _which(result: dict[str, Any]) -> str:
    """Which predictions a panel shows: one seed's run, or the ensemble of its members."""
    if str(result["seed"]) == ENSEMBLE_SEED:
        return f"{len(result.get('members', []))} members"
    return f"seed {result['seed']}"


def plot_reliability(
    pipeline: Pipeline, study: str, metrics_files: list[str | Path], out: str | Path
) -> None:
    """Reliability diagrams, one panel per run: accuracy against confidence per equal-width
    confidence bin (dashed: perfect calibration; bars below it are over-confident), and under
    each the number of test examples in each bin (log scale)."""
    results = read_results(metrics_files, "reliability")
    labels = result_labels(pipeline, results)
    cols = min(PANELS_PER_ROW, len(results))
    rows = math.ceil(len(results) / cols)
    sns.set_theme(style="whitegrid", context="paper")
    fig = plt.figure(figsize=(2.9 * cols, 3.7 * rows))
    grid = fig.add_gridspec(rows, cols, hspace=0.45, wspace=0.25, top=1 - 0.3 / (3.7 * rows))
    for i, (result, label) in enumerate(zip(results, labels, strict=True)):
        row, col = divmod(i, cols)
        cell = grid[row, col].subgridspec(2, 1, height_ratios=[3, 1], hspace=0.08)
        diagram = fig.add_subplot(cell[0])
        counts = fig.add_subplot(cell[1], sharex=diagram)
        _reliability_panel(diagram, counts, result["reliability"])
        diagram.set_title(f"{label} ({_which(result)})", fontsize=8)
        diagram.tick_params(labelbottom=False)
        if col:
            diagram.set_ylabel("")
            counts.set_ylabel("")
        if i + cols < len(results):  # a panel below carries the axis label
            counts.set_xlabel("")
    fig.suptitle(f"{study}: reliability diagrams (15 equal-width bins)", y=0.99)
    save_figure(fig, out)


def _reliability_panel(diagram, counts, bins: list[dict[str, float]]) -> None:
    lower = [b["lower"] for b in bins]
    width = [b["upper"] - b["lower"] for b in bins]
    accuracy = [b["accuracy"] for b in bins]
    diagram.bar(lower, accuracy, width=width, align="edge", alpha=0.7, edgecolor="black")
    diagram.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    total = sum(b["count"] for b in bins)
    ece = sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in bins) / total
    text = f"ECE {format_value('test_ece', ece)}"
    diagram.text(0.04, 0.92, text, transform=diagram.transAxes, fontsize=8, va="top")
    diagram.set(xlim=(0, 1), ylim=(0, 1), ylabel="Accuracy")
    examples = [b["count"] for b in bins]
    counts.bar(lower, examples, width=width, align="edge", color="grey", edgecolor="black")
    counts.set_yscale("log")
    counts.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    counts.set_ylim(0.7, total * 2)
    counts.set(xlabel="Confidence", ylabel="Examples")


def plot_risk_coverage(
    pipeline: Pipeline, study: str, metrics_files: list[str | Path], out: str | Path
) -> None:
    """Risk–coverage curves: the error rate among the most confident fraction of the test
    examples against that fraction, one curve per run, AURC in the legend (best first); one
    panel per dataset, since their risks are not comparable (legend names tell apart the runs
    of one panel)."""
    results = read_results(metrics_files, "risk_coverage")
    datasets = list(dict.fromkeys(pipeline.experiments[r["experiment"]].dataset for r in results))
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(len(datasets), 1, figsize=(6.5, 3.6 * len(datasets)), squeeze=False)
    for ax, dataset in zip(axes[:, 0], datasets, strict=True):
        shown = [r for r in results if pipeline.experiments[r["experiment"]].dataset == dataset]
        drawn = list(zip(shown, result_labels(pipeline, shown), strict=True))
        drawn.sort(key=lambda pair: pair[0]["metrics"]["test_aurc"])
        palette = sns.color_palette("husl" if len(drawn) > 10 else "tab10", len(drawn))
        for (result, label), color, style in zip(drawn, palette, _line_styles(), strict=False):
            curve = result["risk_coverage"]
            aurc = format_value("test_aurc", result["metrics"]["test_aurc"])
            ensemble = str(result["seed"]) == ENSEMBLE_SEED
            ax.plot(
                [p["coverage"] for p in curve],
                [p["risk"] for p in curve],
                color="black" if ensemble else color,
                ls=style,
                lw=2.0 if ensemble else 1.3,
                label=f"{label}: AURC {aurc}",
            )
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        left = _first_risk(r for r, _ in drawn)
        ax.set(xlim=(left, 1), ylim=(0, None), title=dataset)
        if left > 0:
            text = f"every run's risk is 0 below {left:.0%} coverage"
            ax.text(0.02, 0.97, text, transform=ax.transAxes, fontsize=7, va="top")
        ax.set(xlabel="Coverage (fraction answered, most confident first)")
        ax.set(ylabel="Risk: error rate of the answered ↓")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, frameon=False)
    fig.suptitle(f"{study}: risk–coverage curves", y=1.0)
    fig.tight_layout()
    save_figure(fig, out)


def _first_risk(results) -> float:
    """Where the curves start to show: the 10 % step below the smallest coverage at which any
    run makes an error (every risk is 0 to its left, and the panel says so)."""
    first = min(
        next((p["coverage"] for p in r["risk_coverage"] if p["risk"] > 0), 1.0) for r in results
    )
    return math.floor(first * 10) / 10 if first < 1 else 0.0


def _line_styles():
    while True:
        yield from ("-", "--", "-.", ":")
