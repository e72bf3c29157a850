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
from methodlib.paths import Layout  # noqa: E402
from methodlib.report.figure_style import (  # noqa: E402
    CATEGORICAL_KINDS,
    catplot_aspect,
    dress,
    format_axis,
    own_categories,
    relabel,
)
from methodlib.report.metric_registry import axis_label  # noqa: E402
from methodlib.report.tables import (  # noqa: E402
    CURVE_PREFIX,
    KEYS,
    curve_wide,
    read_tidy,
    run_rows,
    wide,
)
from methodlib.spec import FigureSpec, Pipeline  # noqa: E402


def figure_frame(pipeline: Pipeline, figure: FigureSpec, tidy: pd.DataFrame) -> pd.DataFrame:
    """The study's runs, one row each, with metric columns and any config field the figure
    names (`training.lr`), filtered as the figure asks. A `curve_` metric as `y` draws from the
    metric-against-samples rows instead (x = `samples`), ensembles included."""
    if figure.y.startswith(CURVE_PREFIX):
        frame = curve_wide(tidy)
    elif figure.y.endswith("*"):
        frame = numbered_metrics(run_rows(tidy), figure.y, figure.x)
    else:
        frame = wide(run_rows(tidy))
    for column in _columns(figure):
        if column not in frame.columns and "." in column:
            frame[column] = [pipeline.config_field(e, column) for e in frame["experiment"]]
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


def numbered_metrics(tidy: pd.DataFrame, pattern: str, x: str) -> pd.DataFrame:
    """Metrics `<prefix><k>` (`accuracy_after_chunk_1`, ...) as one column named by the
    pattern (`accuracy_after_chunk_*`) against k in column `x`: one row per run and k."""
    prefix = pattern[:-1]
    number = tidy["metric"].str.removeprefix(prefix)
    numbered = tidy["metric"].str.startswith(prefix) & number.str.fullmatch(r"\d+")
    if not numbered.any():
        raise RunError(f"no metric of these runs is named {prefix}<number>")
    rows = tidy[numbered]
    out = rows[KEYS].assign(**{x: number[numbered].astype(int), pattern: rows["value"]})
    return out.reset_index(drop=True)


def epoch_frame(pipeline: Pipeline, runs: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per run and epoch: the run's columns next to `epoch` and the train_log.csv
    `column` of its run folder. A run column of the same name (a metric named like the log
    column, such as a final value) gives way to the log's: the curve is what is drawn."""
    layout = Layout(pipeline)
    frames = []
    for _, run in runs.iterrows():
        path = Path(layout.run_dir(run["experiment"], int(run["seed"]))) / "train_log.csv"
        log = pd.read_csv(path)
        if column not in log:
            raise RunError(f"{path} has no column {column!r} (it has {', '.join(log.columns)})")
        keys = run.drop([c for c in ("epoch", column) if c in run.index])
        frames.append(log[["epoch", column]].assign(**keys.to_dict()))
    return pd.concat(frames, ignore_index=True)


def _columns(figure: FigureSpec) -> list[str]:
    if figure.kind == "epochs":  # x and y come from the training logs
        return [n for n in dict.fromkeys([figure.hue, figure.col, *figure.filters]) if n]
    names = [figure.x, figure.y, figure.hue, figure.col, *figure.filters]
    return [n for n in dict.fromkeys(names) if n]


def plot_figure(
    pipeline: Pipeline,
    name: str,
    tidy_csv: str | Path,
    out: str | Path,
) -> None:
    figure = pipeline.reports[name]
    try:
        frame = figure_frame(pipeline, figure, read_tidy(tidy_csv))
        if figure.kind == "epochs":
            frame = epoch_frame(pipeline, frame, figure.y)
    except RunError as exc:
        raise RunError(f"reports.{name}: {exc}") from None
    frame = frame[frame[figure.y].notna()]  # a curve of another metric only (ensembles)
    relabelled = relabel(pipeline, figure, frame)
    frame, orders = relabelled.frame, relabelled.orders
    sns.set_theme(style="whitegrid", context="paper")
    common = dict(
        data=frame,
        x=figure.x,
        y=figure.y,
        hue=figure.hue,
        col=figure.col,
        hue_order=orders.get(figure.hue),
        col_order=orders.get(figure.col),
        height=HEIGHT,
    )
    if figure.hue and frame[figure.hue].nunique() > 10:
        common["palette"] = (sns.color_palette("tab10") + EXTRA_COLOURS)[
            : frame[figure.hue].nunique()
        ]
    if figure.kind in CATEGORICAL_KINDS:
        extra = {} if figure.kind == "box" else {"errorbar": "sd", "capsize": 0.1}
        if figure.kind == "point":  # categories side by side: no line through them
            extra |= {"linestyle": "none", "dodge": 0.4 if figure.hue else False}
        own = own_categories(frame, figure)  # each panel draws only its own categories
        grid = sns.catplot(
            kind=figure.kind,
            order=None if own else orders.get(figure.x),
            sharex=not own,
            aspect=catplot_aspect(frame, figure, HEIGHT),
            **common,
            **extra,
        )
    elif figure.kind in ("line", "epochs"):
        markers = {"marker": "o"} if figure.kind == "line" else {}
        if figure.hue:  # a marker shape per line as well as a colour: told apart in grey too
            markers = {"style": figure.hue, "style_order": orders.get(figure.hue)}
            markers |= {"markers": figure.kind == "line", "dashes": figure.kind == "epochs"}
            markers |= {"markersize": 6} if figure.kind == "line" else {}
        x = "epoch" if figure.kind == "epochs" else figure.x
        common["aspect"] = 1.5 if figure.kind == "epochs" else 1.0  # epochs: many points
        many = figure.hue is not None and frame[figure.hue].nunique() > MAX_BANDS
        grid = sns.relplot(
            kind="line",
            errorbar="sd",
            err_style="bars" if many else "band",
            err_kws={"capsize": 2} if many else {},
            **{**common, "x": x},
            **markers,
        )
    else:
        grid = sns.FacetGrid(
            frame,
            col=figure.col,
            hue=figure.hue,
            hue_order=orders.get(figure.hue),
            col_order=orders.get(figure.col),
            height=HEIGHT,
        )
        grid.map_dataframe(_mean_with_error_bars, x=figure.x, y=figure.y)
    dress(grid, figure, relabelled)
    save_figure(grid.figure, out)


HEIGHT = 3.2
"""Inches of one panel."""
EXTRA_COLOURS = ["#000000", "#1b3a6b", "#e7298a", "#66a61e", "#00bcd4", "#e6ab02", "#7a0177"]
"""After tab10's ten colours: ones none of them is close to (seaborn's larger palettes
repeat tab10's hues in lighter shades)."""
MAX_BANDS = 4
"""Lines whose spread over seeds is drawn as shaded bands; more read better with error bars."""


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


def plot_curves(experiment: str, logs: dict[str, str | Path], out: str | Path) -> None:
    """Training loss and the task's validation columns per epoch (NLL and accuracy for
    classification, the loss for generation), mean and spread over seeds."""
    frames = []
    for seed, path in logs.items():
        frame = pd.read_csv(path)
        frame["seed"] = seed
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    sns.set_theme(style="whitegrid", context="paper")
    columns = ["train_loss", *(c for c in ("val_nll", "val_accuracy", "val_loss") if c in data)]
    fig, axes = plt.subplots(1, len(columns), figsize=(10 * len(columns) / 3, 3), squeeze=False)
    for ax, column in zip(axes[0], columns, strict=True):
        sns.lineplot(data=data, x="epoch", y=column, errorbar="sd", marker="o", ax=ax)
        ax.set(xlabel=axis_label("epoch"), ylabel=axis_label(column))
        values = data[column].dropna()
        log = bool((values > 0).all() and values.max() > 20 * values.min())  # a loss near 0
        if log:
            ax.set_yscale("log")
        format_axis(ax.yaxis, column, log)
    fig.suptitle(f"{experiment}: training curves over {len(logs)} seed(s)")
    fig.tight_layout()
    save_figure(fig, out)


def save_figure(fig, out: str | Path) -> None:
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
