"""Report figures drawn with seaborn from the tidy metrics table and the training logs."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on cluster nodes or CI

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from methodlib.errors import RunError, closest  # noqa: E402
from methodlib.io import atomic_path  # noqa: E402
from methodlib.report.tables import CURVE_PREFIX, curve_wide, read_tidy, wide  # noqa: E402
from methodlib.spec import FigureSpec, Pipeline  # noqa: E402


def figure_frame(pipeline: Pipeline, figure: FigureSpec, tidy: pd.DataFrame) -> pd.DataFrame:
    """The study's runs, one row each, with metric columns and any config field the figure
    names (`training.lr`), filtered as the figure asks. A `curve_` metric as `y` draws from the
    metric-against-samples rows instead (x = `samples`), ensembles included."""
    if figure.y.startswith(CURVE_PREFIX):
        frame = curve_wide(tidy)
    else:
        frame = wide(tidy[tidy["seed"] != "all"])
    for column in _columns(figure):
        if column not in frame.columns and "." in column:
            frame[column] = [_config_value(pipeline, e, column) for e in frame["experiment"]]
    for column in _columns(figure):
        if column not in frame.columns:
            available = sorted(frame.columns)
            raise RunError(
                f"figure column {column!r} is neither a table column, a metric of these runs nor "
                f"a config field{closest(column, available)} (available: {', '.join(available)})"
            )
    for column, wanted in figure.filters.items():
        wanted = wanted if isinstance(wanted, list) else [wanted]
        frame = frame[frame[column].astype(str).isin([str(w) for w in wanted])]
    if frame.empty:
        raise RunError(f"no runs left after the filters {figure.filters}")
    return frame


def _columns(figure: FigureSpec) -> list[str]:
    names = [figure.x, figure.y, figure.hue, figure.col, *figure.filters]
    return [n for n in dict.fromkeys(names) if n]


def _config_value(pipeline: Pipeline, experiment: str, dotted: str):
    value = pipeline.resolved_experiment(experiment)
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def plot_figure(pipeline: Pipeline, name: str, tidy_csv: str | Path, out: str | Path) -> None:
    figure = pipeline.reports[name]
    try:
        frame = figure_frame(pipeline, figure, read_tidy(tidy_csv))
    except RunError as exc:
        raise RunError(f"reports.{name}: {exc}") from None
    sns.set_theme(style="whitegrid", context="paper")
    common = dict(data=frame, x=figure.x, y=figure.y, hue=figure.hue, col=figure.col, height=3.2)
    if figure.kind in ("bar", "point", "box"):
        extra = {} if figure.kind == "box" else {"errorbar": "sd", "capsize": 0.1}
        grid = sns.catplot(kind=figure.kind, **common, **extra)
    elif figure.kind == "line":
        grid = sns.relplot(kind="line", errorbar="sd", marker="o", **common)
    else:
        grid = sns.FacetGrid(frame, col=figure.col, hue=figure.hue, height=3.2)
        grid.map_dataframe(_mean_with_error_bars, x=figure.x, y=figure.y)
        if figure.hue:
            grid.add_legend()
    for ax in grid.axes.flat:
        ax.tick_params(axis="x", labelrotation=30)
        if figure.logx:
            ax.set_xscale("log")
        if figure.logy:
            ax.set_yscale("log")
    grid.figure.suptitle(name, y=1.02)
    save_figure(grid.figure, out)


def _mean_with_error_bars(data: pd.DataFrame, x: str, y: str, color=None, label=None) -> None:
    """One point per experiment at the mean over seeds, with ±1 sd bars in both directions."""
    stats = data.groupby("experiment")[[x, y]].agg(["mean", "std"]).fillna(0.0)
    plt.errorbar(
        stats[(x, "mean")],
        stats[(y, "mean")],
        xerr=stats[(x, "std")],
        yerr=stats[(y, "std")],
        fmt="o",
        color=color,
        label=label,
        capsize=3,
    )
    plt.xlabel(x)
    plt.ylabel(y)


def plot_curves(experiment: str, logs: dict[str, str | Path], out: str | Path) -> None:
    """Training loss and validation accuracy per epoch, mean and spread over seeds."""
    frames = []
    for seed, path in logs.items():
        frame = pd.read_csv(path)
        frame["seed"] = seed
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    for ax, column in zip(axes, ["train_loss", "val_nll", "val_accuracy"], strict=True):
        sns.lineplot(data=data, x="epoch", y=column, errorbar="sd", marker="o", ax=ax)
    fig.suptitle(f"{experiment}: training curves over {len(logs)} seed(s)")
    fig.tight_layout()
    save_figure(fig, out)


def save_figure(fig, out: str | Path) -> None:
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
