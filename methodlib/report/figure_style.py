"""How a report figure reads: display names instead of keys, labelled axes with units and a
better-direction arrow, ticks a reader can read, the legend outside the data, the y = x line
inside the data's limits, and the paper's values as reference markers.

`plots.plot_figure` draws with seaborn; everything here happens before (`relabel`: the values
and their order) or after (`dress`: axes, diagonal, references, legend) the drawing.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib.ticker as ticker
import pandas as pd

from methodlib.errors import RunError
from methodlib.report.labels import ENSEMBLE_SEED, ensemble_label, experiment_labels, value_label
from methodlib.report.metric_registry import METRICS, axis_label, is_percent, metric_info
from methodlib.spec import FigureSpec, Pipeline

CATEGORICAL_KINDS = ("bar", "point", "box")
"""Kinds whose x is a category (seaborn's catplot); the others draw against a number."""
DODGE_WIDTH = 0.8
"""seaborn's width of one category's group of bars or boxes."""
REFERENCE_STYLE = dict(
    marker="o", s=70, facecolors="none", edgecolors="black", linewidths=1.6, zorder=6
)
"""The paper's values: hollow black circles, unlike any seaborn marker."""


@dataclass
class Relabelled:
    """The figure's rows with display values, the order of each relabelled column and how a
    raw value of a column reads (for the reference points)."""

    frame: pd.DataFrame
    orders: dict[str, list[Any]]
    shown: dict[str, Callable[[Any], Any]]


def relabel(pipeline: Pipeline, figure: FigureSpec, frame: pd.DataFrame) -> Relabelled:
    """Replace experiment keys, method and model names and config values in the figure's
    category columns (x of a bar, point or box figure, hue, col) by what a reader reads, in
    the pipeline's order of experiments (numbers in their own order)."""
    frame = frame.copy()
    columns = [figure.hue, figure.col]
    if figure.kind in CATEGORICAL_KINDS:
        columns.insert(0, figure.x)
    orders: dict[str, list[Any]] = {}
    shown: dict[str, Callable[[Any], Any]] = {}
    _experiment_rank(pipeline, frame)
    for column in dict.fromkeys(c for c in columns if c):
        if column == "experiment":
            labels = _experiment_labels(pipeline, frame, [c for c in columns if c != column])
            values = [
                ensemble_label(pipeline, e, labels[e]) if str(s) == ENSEMBLE_SEED else labels[e]
                for e, s in zip(frame["experiment"], frame["seed"], strict=True)
            ]
            shown[column] = _lookup(column, labels)
        else:
            raw = frame[column].tolist()
            values = [value_label(pipeline, column, v) for v in raw]
            shown[column] = _lookup(column, {v: value_label(pipeline, column, v) for v in raw})
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
                numbers = {value_label(pipeline, column, v): v for v in raw}
                orders[column] = sorted(numbers, key=numbers.__getitem__)
        frame[column] = values
        if column not in orders:
            first = frame.groupby(column, sort=False)["_rank"].min()
            orders[column] = first.sort_values(kind="stable").index.tolist()
    frame = frame.sort_values("_rank", kind="stable").drop(columns="_rank")
    return Relabelled(frame, orders, shown)


def _experiment_labels(
    pipeline: Pipeline, frame: pd.DataFrame, context: list[str | None]
) -> dict[str, str]:
    """Experiment names told apart within each group drawn side by side (a panel, a category
    of x), not by what the group's panel title or tick already says."""
    context = [c for c in context if c]
    rows = frame.sort_values("_rank", kind="stable")
    groups = rows.groupby(context, sort=False) if context else [(None, rows)]
    labels: dict[str, str] = {}
    for _, group in groups:
        labels |= experiment_labels(pipeline, group["experiment"], shown=context)
    return labels


def _experiment_rank(pipeline: Pipeline, frame: pd.DataFrame) -> None:
    """Column `_rank`: the row's experiment's place in the pipeline file, an ensemble right
    after its experiment's runs."""
    place = {e: i for i, e in enumerate(pipeline.experiments)}
    frame["_rank"] = [
        2 * place.get(e, len(place)) + (str(s) == ENSEMBLE_SEED)
        for e, s in zip(frame["experiment"], frame["seed"], strict=True)
    ]


def _lookup(column: str, table: dict[Any, Any]) -> Callable[[Any], Any]:
    by_text = {str(k): v for k, v in table.items()}

    def show(value: Any) -> Any:
        if str(value) not in by_text:
            raise RunError(
                f"reference point {column} = {value!r} is not among the figure's values "
                f"({', '.join(sorted(by_text))})"
            )
        return by_text[str(value)]

    return show


def own_categories(frame: pd.DataFrame, figure: FigureSpec) -> bool:
    """Whether the panels of a category figure show different categories (experiments of
    one dataset each): then each draws its own, not empty slots for the others'."""
    if not figure.col or figure.kind not in CATEGORICAL_KINDS:
        return False
    per_panel = frame.groupby(figure.col)[figure.x].nunique()
    return bool((per_panel < frame[figure.x].nunique()).any())


def catplot_aspect(frame: pd.DataFrame, figure: FigureSpec, height: float) -> float:
    """Width over height of a category panel: room for every bar and its tick label."""
    if own_categories(frame, figure):
        categories = frame.groupby(figure.col)[figure.x].nunique().max()
    else:
        categories = frame[figure.x].nunique()
    hues = frame[figure.hue].nunique() if figure.hue and figure.hue != figure.x else 1
    width = categories * max(0.6, 0.28 * hues)
    return max(1.0, width / height)


def dress(grid, figure: FigureSpec, relabelled: Relabelled) -> None:
    """Axis labels and ticks, the diagonal, the paper's values and the legend of a drawn
    figure (a seaborn FacetGrid)."""
    grid.set_axis_labels(_label(figure.x), _wrap(_label(figure.y)))
    if figure.col:
        grid.set_titles(col_template=f"{_label(figure.col)}: {{col_name}}")
    for ax in grid.axes.flat:
        if figure.logx:
            ax.set_xscale("log")
        if figure.logy:
            ax.set_yscale("log")
    if figure.reference:
        draw_reference(grid, figure, relabelled)
    for ax in grid.axes.flat:
        ax.autoscale_view()
        format_axis(ax.xaxis, figure.x, figure.logx)
        format_axis(ax.yaxis, figure.y, figure.logy)
        if figure.kind in CATEGORICAL_KINDS:
            _readable_categories(ax)
        if figure.diagonal:
            mark_diagonal(ax)
    hues = relabelled.orders.get(figure.hue, []) if figure.hue else []
    place_legend(grid, _label(figure.hue) if figure.hue else None, hues)


def _label(column: str) -> str:
    try:
        return axis_label(column)
    except KeyError:  # a figure column the registry has no entry for: still drawn, named as is
        return column


def _wrap(label: str, width: int = 30) -> str:
    """A long y label on two lines: one line would run past a panel's height."""
    return "\n".join(textwrap.wrap(label, width)) if len(label) > width + 5 else label


def _percent(column: str) -> bool:
    try:
        return is_percent(column)
    except KeyError:
        return False


def format_axis(axis, column: str, log: bool) -> None:
    """Percentages (fractions in the data) as 0-100 ticks; log axes with plain numbers at
    1, 2, 5 × 10^k (or every integer multiple over less than a decade) instead of bare 10^k."""
    if _percent(column):
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{100 * v:.6g}"))
        return
    if not log:
        if column in METRICS and metric_info(column).fmt.startswith(","):
            # counts: 1,000 as is, but 1.2M rather than 1,200,000 (neighbours would overlap)
            axis.set_major_formatter(ticker.FuncFormatter(_count))
        return
    low, high = axis.get_view_interval()
    decades = math.log10(high / low) if low > 0 and high > low else 0.0
    subs = tuple(range(1, 10)) if decades < 1 else (1.0, 2.0, 5.0) if decades < 3 else (1.0,)
    axis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _number(v)))
    axis.set_minor_formatter(ticker.NullFormatter())


def _count(value: float, _position=None) -> str:
    """Tick text of a count on a linear axis: 500, 5,000, 50k, 1.2M."""
    return _number(value) if abs(value) >= 1e4 else f"{value:,.0f}"


def _number(value: float) -> str:
    """Short tick text: 0.5, 20, 50k, 2M."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def _readable_categories(ax) -> None:
    """Slant long category labels so that neighbours never overlap."""
    labels = ax.get_xticklabels()
    longest = max((len(t.get_text()) for t in labels), default=0)
    if longest * len(labels) > 40 or longest > 14:
        for text in labels:
            text.set_rotation(30)
            text.set_horizontalalignment("right")
            text.set_rotation_mode("anchor")


def mark_diagonal(ax) -> None:
    """The line y = x, clipped to the limits the data set: it marks where the data would lie
    without setting the scale (far-off parts of the line would squash the data)."""
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    low, high = min(xlim[0], ylim[0]), max(xlim[1], ylim[1])
    ax.plot(
        [low, high],
        [low, high],
        ls="--",
        color="grey",
        lw=1,
        label="y = x",
        zorder=1,
        scalex=False,
        scaley=False,
    )
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)


def draw_reference(grid, figure: FigureSpec, relabelled: Relabelled) -> None:
    """The paper's values as hollow black markers: at a category's position (moved to its
    bar within the group where bars are dodged by hue) or at the number x."""
    reference = figure.reference
    assert reference is not None
    points: dict[Any, list[tuple[float, float]]] = {}
    for point in reference.points:
        if figure.col and point.col is None:
            raise RunError("every reference point needs `col` where the figure has one")
        key = relabelled.shown[figure.col](point.col) if figure.col else None
        ax = grid.axes_dict[key] if figure.col else grid.axes.flat[0]
        points.setdefault(key, []).append((_reference_x(ax, figure, relabelled, point), point.y))
    for key, xy in points.items():
        ax = grid.axes_dict[key] if figure.col else grid.axes.flat[0]
        ax.scatter(*zip(*xy, strict=True), label=reference.label, **REFERENCE_STYLE)


def _reference_x(ax, figure: FigureSpec, relabelled: Relabelled, point) -> float:
    """Where the point goes on the panel `ax`: its number, or its category's tick (moved to
    its bar where bars are dodged by hue)."""
    if figure.kind not in CATEGORICAL_KINDS:
        if not isinstance(point.x, int | float) or isinstance(point.x, bool):
            raise RunError(f"reference point x = {point.x!r}: the figure's x is a number")
        return float(point.x)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    category = relabelled.shown[figure.x](point.x)
    if category not in ticks:
        raise RunError(f"reference point x = {point.x!r} is not drawn in its panel ({ticks})")
    position = ticks.index(category)
    if not figure.hue or figure.hue == figure.x or figure.kind == "point":
        return float(position)
    if point.hue is None:
        raise RunError("every reference point needs `hue` where the figure dodges bars by hue")
    levels = relabelled.orders[figure.hue]
    i = levels.index(relabelled.shown[figure.hue](point.hue))
    return position - DODGE_WIDTH / 2 + DODGE_WIDTH * (i + 0.5) / len(levels)


def place_legend(grid, title: str | None, hues: list[Any] = ()) -> None:
    """One legend for the whole figure, right of the panels, so it never covers data: the
    hue levels seaborn drew (in the order `hues`) and then any other labelled artist (the
    diagonal, the paper)."""
    handles, labels = [], []
    legend = grid._legend
    if legend is not None:
        handles += list(legend.legend_handles)
        labels += [t.get_text() for t in legend.texts]
        legend.remove()
        grid._legend = None
    for ax in grid.axes.flat:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels and not label.startswith("_"):
                handles.append(handle)
                labels.append(label)
    if not handles:
        return
    rank = {str(h): i for i, h in enumerate(hues)}
    ordered = sorted(zip(labels, handles, strict=True), key=lambda lh: rank.get(lh[0], len(rank)))
    labels, handles = [label for label, _ in ordered], [handle for _, handle in ordered]
    top_right = grid.axes[0, -1]  # seaborn left room for its own legend: anchor to the data
    grid._legend = grid.figure.legend(
        handles,
        labels,
        title=title,
        loc="upper left",
        bbox_to_anchor=(1.03, 1.0),
        bbox_transform=top_right.transAxes,
        frameon=False,
    )
