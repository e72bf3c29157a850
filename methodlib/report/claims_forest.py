"""The claims at a glance: a forest plot of every comparison of `claims.json`, the figure that
opens the claims page.

Each row is one comparison: its effect (mean a − mean b) and 90 % interval, turned so that
right is the side the claim asserts (a claimed negative a − b is multiplied by −1) and divided
by the row's reference so that rows of different metrics share one axis: the tolerance of a
non-inferiority claim or the margin of an equivalence, otherwise the pooled sd of the two arms'
seeds. On that axis every decision line is a fixed place: 0 for a superiority claim, −1
(−tolerance) for non-inferiority, ±1 for equivalence. Colour is the claim's verdict and the
marker its registration state (hollow: exploratory), so that one picture shows what holds, what
is contradicted and what this design could not see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on cluster nodes or CI

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import transforms  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402
from scipy import stats  # noqa: E402

from methodlib.io import read_json  # noqa: E402
from methodlib.report.claim_display import (  # noqa: E402
    NOT_RECORDED,
    claimed_direction,
    claimed_sign,
    shown_state,
    verdict_words,
)
from methodlib.report.metric_registry import metric_info  # noqa: E402
from methodlib.report.plots import save_figure  # noqa: E402

VERDICT_COLOURS = {
    "holds": "#029E73",
    "contradicted": "#D55E00",
    "not shown": "#0173B2",
    "underpowered": "#DE8F05",
    "undecided": "#949494",
    "missing": "#949494",
}
"""seaborn's colour-blind palette: green holds, vermilion contradicted, blue not shown (at
adequate power), orange underpowered, grey for what no test decided."""
STATE_MARKERS = {
    "registered": ("o", True),
    "amended after results": ("D", True),
    "exploratory": ("o", False),
    NOT_RECORDED: ("s", False),
}
"""Marker and whether it is filled: a hollow marker was not decided as a registered design."""
LINEAR_WITHIN = 2.0
"""The axis is linear within ±2 references (where every decision line lies) and logarithmic
beyond, so that a 50-sd effect does not squash the rows near their lines."""
FARTHEST = 300.0
"""The axis ends here at most: a value beyond (an arm of nearly no spread) is an arrow at the
edge, like an effect over a zero sd."""
ROW_INCHES = 0.19
FONT_SIZE = 7.5
AXES_INCHES = 4.6
GAP_INCHES = 0.18


@dataclass(frozen=True)
class ForestRow:
    """One row of the plot: a comparison, or a claim that has none (its arms did not run).
    `effect`, `low` and `high` are oriented and scaled (None where nothing can be drawn);
    ±inf is an effect over a zero reference (both arms without spread)."""

    study: str
    claim: str
    first: bool
    label: str
    verdict: str
    verdict_text: str
    state: str
    kind: str | None
    reference: str | None
    effect: float | None
    low: float | None
    high: float | None
    exact: bool


def forest_rows(data: dict[str, Any]) -> list[ForestRow]:
    """The rows of the plot, top to bottom: claims grouped by study (in the order the studies
    first appear), each claim's comparisons in their order."""
    claims = data["claims"]
    studies = list(dict.fromkeys(r["study"] for r in claims))
    labels = data.get("labels", {})
    rows = []
    for study in studies:
        for record in (r for r in claims if r["study"] == study):
            comparisons = record["comparisons"] or [None]
            for i, comparison in enumerate(comparisons):
                rows.append(_row(record, comparison, labels, first=i == 0))
    return rows


def _row(
    record: dict[str, Any], c: dict[str, Any] | None, labels: dict[str, str], first: bool
) -> ForestRow:
    common = dict(
        study=record["study"],
        claim=record["name"],
        first=first,
        verdict=record["verdict"],
        verdict_text=verdict_words(record),
        state=shown_state(record) or NOT_RECORDED,
    )
    if c is None:
        return ForestRow(
            **common,
            label="no comparison (arms without results)",
            kind=None,
            reference=None,
            effect=None,
            low=None,
            high=None,
            exact=False,
        )
    reference, scale = row_reference(record, c)
    sign = claimed_sign(c)

    def place(value: float | None) -> float | None:
        if value is None or reference is None:
            return None
        if reference == 0:
            return 0.0 if value == 0 else math.copysign(math.inf, sign * value)
        return sign * value / reference

    low, high = place(c.get("ci_low")), place(c.get("ci_high"))
    if low is not None and high is not None:
        low, high = sorted((low, high))
    exact = bool(c.get("exact")) or (c.get("ci_low") is not None and c["ci_low"] == c["ci_high"])
    direction = claimed_direction(c)
    kind = (
        "equivalence"
        if direction == "equivalent"
        else "non-inferiority"
        if "tolerance" in c
        else "superiority"
    )
    return ForestRow(
        **common,
        label=comparison_label(c, labels),
        kind=kind,
        reference=scale,
        effect=place(c.get("effect")),
        low=None if exact else low,
        high=None if exact else high,
        exact=exact,
    )


def row_reference(record: dict[str, Any], c: dict[str, Any]) -> tuple[float | None, str]:
    """What the row's effect is divided by, and its name: the tolerance or margin where the
    claim has one, else the arms' pooled sd (None where no arm has two seeds)."""
    for key in ("tolerance", "margin"):
        if c.get(key) is not None:
            return abs(float(c[key])), key
    return pooled_sd(record, c), "sd"


def pooled_sd(record: dict[str, Any], c: dict[str, Any]) -> float | None:
    """√(mean of the arms' variances) over the arms that are runs (a threshold has none). A
    DEE point's arm records the spread of its final DEE, not of DEE(k): its sd is the one its
    one-sample interval was drawn from."""
    if "samples" in c:
        return _interval_sd(c)
    metrics = {arm["arm"]: arm["metrics"] for arm in record["arms"]}
    sds = []
    for arm in (c.get("a"), c.get("b")):
        summary = metrics.get(arm, {}).get(c["metric"]) if isinstance(arm, str) else None
        if summary and summary.get("sd") is not None:
            sds.append(float(summary["sd"]))
    return math.sqrt(sum(s * s for s in sds) / len(sds)) if sds else None


def _interval_sd(c: dict[str, Any]) -> float | None:
    """The seeds' sd behind a one-sample t interval: half-width / t quantile · √n."""
    n = c.get("n_a") or 0
    if n < 2 or c.get("ci_low") is None:
        return None
    quantile = stats.t.ppf(0.5 + c["ci_level"] / 2, n - 1)
    return float((c["ci_high"] - c["ci_low"]) / 2 / quantile * math.sqrt(n))


def comparison_label(c: dict[str, Any], labels: dict[str, str]) -> str:
    """ "Test error: Sparse VD − Dense"; a DEE point "DEE(4) − 4: MC dropout"."""

    def arm(value: Any) -> str:
        return f"{value:g}" if isinstance(value, int | float) else labels.get(value, value)

    if "samples" in c:
        return f"DEE({c['samples']}) − {c['samples']}: {arm(c['a'])}"
    return f"{metric_info(c['metric']).display}: {arm(c['a'])} − {arm(c['b'])}"


def draw_claims_forest(data: dict[str, Any]) -> tuple[plt.Figure, list[ForestRow]]:
    """The figure and the rows it draws (a claims.json's content)."""
    rows = forest_rows(data)
    sns.set_theme(style="whitegrid", context="paper")
    plt.rcParams["font.size"] = FONT_SIZE
    slots = _slots(rows)
    # at the dpi save_figure writes: small text measured at another dpi is hinted to another
    # width, and the columns would overlap
    fig, ax = plt.subplots(figsize=(AXES_INCHES + 6, ROW_INCHES * max(len(slots), 4)), dpi=120)
    ax.set_ylim(len(slots) - 0.5, -0.5)
    ax.set_yticks([])
    ax.grid(axis="y", visible=False)
    ax.set_facecolor("none")  # the rows' bands run under the data too
    limit = _limit(rows)
    ax.set_xscale("symlog", linthresh=LINEAR_WITHIN, linscale=1.5)
    ax.set_xlim(-limit, limit)
    ax.axvline(0, color="black", lw=0.8, zorder=1)
    columns = _Columns(fig, ax)
    shade = False
    for y, slot in enumerate(slots):
        if isinstance(slot, str):  # a study's header
            if y:
                ax.axhline(y - 0.5, color="#888888", lw=0.7)
            columns.claim(y, slot, weight="bold")
            shade = False
            continue
        if slot.first:
            shade = not shade
            columns.claim(y, slot.claim)
            columns.verdict(y, slot.verdict_text, VERDICT_COLOURS[slot.verdict])
        if shade:
            columns.band(y)
        columns.comparison(y, f"{slot.label} [{slot.reference}]" if slot.reference else slot.label)
        _draw_row(ax, y, slot, limit)
    _ticks(ax, limit)
    ax.tick_params(axis="x", labeltop=True, top=True, labelsize=FONT_SIZE)
    ax.set_xlabel(AXIS_LABEL, fontsize=FONT_SIZE)
    if not rows:
        ax.text(0.5, 0.5, "no claims declared", transform=ax.transAxes, ha="center")
    columns.fit()
    _legend(fig, ax, rows)
    return fig, rows


AXIS_LABEL = (
    "effect in the claim's direction (right = as claimed) ÷ the row's [reference]: its tolerance "
    "or margin,\nelse the arms' pooled sd; linear within "
    f"±{LINEAR_WITHIN:g}, logarithmic beyond"
)


class _Columns:
    """Three columns of text beside the axes (claim and study names left-aligned at the left
    edge, each row's comparison right-aligned against the axes, the verdict right of them),
    measured once drawn so that the axes begin where the longest text ends."""

    def __init__(self, fig, ax) -> None:
        self.fig, self.ax = fig, ax
        self.claims, self.comparisons, self.verdicts, self.bands = [], [], [], []
        self._axes = transforms.blended_transform_factory(ax.transAxes, ax.transData)

    def band(self, y: float) -> None:
        """A light band behind a row across the whole figure: every other claim is shaded,
        so that the eye follows a row from its name to its interval."""
        self.bands.append(
            self.ax.add_patch(
                Rectangle((0, y - 0.5), 1, 1, color="#f1f1f1", zorder=0, lw=0, clip_on=False)
            )
        )

    def claim(self, y: float, text: str, **style) -> None:
        self.claims.append(self.ax.text(0, y, text, ha="left", va="center", **style))

    def comparison(self, y: float, text: str) -> None:
        self.comparisons.append(
            self.ax.text(
                -0.01, y, text, transform=self._axes, ha="right", va="center", color="#333333"
            )
        )

    def verdict(self, y: float, text: str, colour: str) -> None:
        self.verdicts.append(
            self.ax.text(1.01, y, text, transform=self._axes, ha="left", va="center", color=colour)
        )

    def fit(self) -> None:
        renderer = self.fig.canvas.get_renderer()
        dpi = self.fig.dpi

        def widest(texts) -> float:
            return max((t.get_window_extent(renderer).width / dpi for t in texts), default=0.0)

        first, second, third = widest(self.claims), widest(self.comparisons), widest(self.verdicts)
        width = first + second + third + AXES_INCHES + 4 * GAP_INCHES
        self.fig.set_figwidth(width)
        left = (first + second + 2 * GAP_INCHES) / width
        self.ax.set_position(
            [left, self.ax.get_position().y0, AXES_INCHES / width, self.ax.get_position().height]
        )
        at_left = transforms.blended_transform_factory(self.fig.transFigure, self.ax.transData)
        for text in self.claims:
            text.set_transform(at_left)
            text.set_x(0.0)
        for band in self.bands:
            band.set_transform(at_left)


def _ticks(ax, limit: float) -> None:
    """Plain numbers at the decision lines and at each decade, and which side is which."""
    steps = [1.0, LINEAR_WITHIN] + [10.0**k for k in range(1, 4)]
    ticks = sorted({0.0, *(s * side for s in steps for side in (-1, 1) if s <= limit)})
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}".replace("-", "−")))
    above = transforms.offset_copy(ax.transAxes, ax.figure, y=0.22, units="inches")
    for x, text, align in ((0.0, "← against the claim", "left"), (1.0, "as claimed →", "right")):
        ax.text(x, 1.0, text, transform=above, ha=align, va="bottom", color="#555555")


def _slots(rows: list[ForestRow]) -> list[str | ForestRow]:
    """The rows with a header before each study's first."""
    slots: list[str | ForestRow] = []
    for row in rows:
        if not slots or (not isinstance(slots[-1], str) and slots[-1].study != row.study):
            slots.append(row.study)
        slots.append(row)
    return slots


def _limit(rows: list[ForestRow]) -> float:
    """The axis' half-width: room for every finite value up to `FARTHEST`."""
    finite = [
        abs(v)
        for r in rows
        for v in (r.effect, r.low, r.high)
        if v is not None and math.isfinite(v)
    ]
    return min(max([2 * LINEAR_WITHIN, *finite]) * 1.3, FARTHEST)


def _draw_row(ax, y: int, row: ForestRow, limit: float) -> None:
    colour = VERDICT_COLOURS[row.verdict]
    if row.kind == "non-inferiority":
        ax.plot([-1], [y], marker="|", ms=9, mew=1.4, color="#444444", zorder=2)
    elif row.kind == "equivalence":
        ax.plot([-1, 1], [y, y], ls="none", marker="|", ms=9, mew=1.4, color="#444444", zorder=2)
    if row.effect is None:
        return
    if row.low is not None and row.high is not None:
        low, high = (max(-limit, min(limit, v)) for v in (row.low, row.high))
        ax.plot([low, high], [y, y], color=colour, lw=1.6, solid_capstyle="butt", zorder=3)
    marker, filled = STATE_MARKERS[row.state]
    x = row.effect
    if abs(x) > limit:  # past the axis' end (a zero or tiny spread): only its side
        x, marker = math.copysign(limit / 1.2, x), ">" if x > 0 else "<"
        filled = True
    ax.plot(
        [x],
        [y],
        marker=marker,
        ms=5,
        color=colour,
        mfc=colour if filled else "white",
        mew=1.2,
        zorder=4,
        clip_on=False,
    )


def _legend(fig, ax, rows: list[ForestRow]) -> None:
    """Verdict colours, registration markers and decision ticks above the rows, so that the
    legend covers none of them."""
    verdicts = [v for v in VERDICT_COLOURS if any(r.verdict == v for r in rows)]
    states = [s for s in STATE_MARKERS if any(r.state == s for r in rows)]
    handles = [
        Line2D([], [], color=VERDICT_COLOURS[v], marker="o", lw=1.6, ms=5, label=v)
        for v in verdicts
    ]
    for state in states:
        marker, filled = STATE_MARKERS[state]
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker=marker,
                ms=5,
                color="#444444",
                mfc="#444444" if filled else "white",
                label=state if state != NOT_RECORDED else "registration not recorded",
            )
        )
    handles += [
        Line2D([], [], ls="none", marker="|", ms=9, mew=1.4, color="#444444", label=text)
        for text in ("decision line: −1 non-inferiority, ±1 equivalence",)
    ]
    handles += [
        Line2D(
            [], [], ls="none", marker=">", ms=5, color="#444444", label="off the axis (spread ≈ 0)"
        ),
        Line2D([], [], ls="none", marker="", label="no bar: exact (no spread)"),
    ]
    ax.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        bbox_transform=transforms.offset_copy(ax.transAxes, fig, y=0.42, units="inches"),
        ncol=3,
        frameon=False,
        fontsize=FONT_SIZE,
        borderaxespad=0.0,
    )


def plot_claims_forest(claims_json: str | Path, out: str | Path) -> list[ForestRow]:
    """Draw `claims.json` to the PNG `out`; the rows drawn, top to bottom."""
    fig, rows = draw_claims_forest(read_json(claims_json))
    save_figure(fig, out)
    return rows
