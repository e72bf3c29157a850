"""Two sets of reports side by side: the published ones and a regeneration, or two commits.

`git diff reports/` shows every float that moved, and on another CPU nearly all of them do:
floating-point kernels differ by CPU, so a regeneration is rarely bit-identical. What matters
is whether a number moved by more than its seeds' noise, and whether a verdict changed. So each
metric's shift is read in units of its spread over seeds (`z` = shift / pooled sd), and every
claim whose verdict differs is listed with its effects and p-values on both sides.

Scope: the per-run headline rows of `metrics.csv` (`tables.run_rows`, `curve_*` points left
out: a curve's points are the same runs' numbers at fewer samples). An ensemble row (seed `all`
or a disjoint ensemble's `0+1`) is one number with no seed spread to scale its shift by; those
rows are counted and left out, and the report says so. Timings (`clock` metrics of the
registry) are compared but never flagged: they measure the machine, not the method.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from methodlib.errors import RunError
from methodlib.io import atomic_path, write_json
from methodlib.report.metric_registry import UnknownMetricError, metric_info
from methodlib.report.tables import CURVE_PREFIX, headline, read_tidy, run_rows

METRICS_CSV = "metrics.csv"
CLAIMS_JSON = "claims.json"
KEY = ["experiment", "metric"]


@dataclass(frozen=True)
class Reports:
    """One side of a comparison: where it came from (for the page) and what it holds."""

    label: str
    metrics: pd.DataFrame
    claims: list[dict[str, Any]]


def read_reports_dir(folder: str | Path) -> Reports:
    """A reports folder on disk (the committed `reports/` or a regeneration)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"{folder}: no such reports folder")
    files = {name: folder / name for name in (METRICS_CSV, CLAIMS_JSON)}
    for path in files.values():
        if not path.is_file():
            raise RunError(f"{path} does not exist: regenerate the reports (`snakemake`) first")
    claims = json.loads(files[CLAIMS_JSON].read_text())["claims"]
    return Reports(str(folder), read_tidy(files[METRICS_CSV]), claims)


def read_reports_git(rev: str, folder: str = "reports", repo: str | Path = ".") -> Reports:
    """The reports folder `folder` (from the repository's root) as commit `rev` holds it, read
    with `git show` from the repository holding `repo`: no checkout, the work tree untouched."""

    def show(name: str) -> bytes:
        spec = f"{rev}:{Path(folder, name).as_posix()}"
        result = subprocess.run(["git", "show", spec], cwd=repo, capture_output=True, check=False)
        if result.returncode != 0:
            why = result.stderr.decode(errors="replace").strip()
            raise RunError(
                f"{Path(folder, name).as_posix()} of commit {rev} cannot be read (git show {spec}: "
                f"{why}); name a commit that holds the reports, or --in-commit their folder"
            )
        return result.stdout

    commit = _git(repo, "rev-parse", "--short", f"{rev}^{{commit}}") or rev
    metrics = read_tidy(io.BytesIO(show(METRICS_CSV)))
    claims = json.loads(show(CLAIMS_JSON))["claims"]
    label = f"{rev}:{folder}" if commit == rev else f"{rev} ({commit}):{folder}"
    return Reports(label, metrics, claims)


def _git(repo: str | Path, *args: str) -> str | None:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def is_revision(name: str, repo: str | Path = ".") -> bool:
    return _git(repo, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}") is not None


def folder_in_commit(folder: str | Path, repo: str | Path = ".") -> str | None:
    """`folder`'s path from the root of the git repository holding `repo`, or None when it lies
    outside it: where the same reports sit in a commit."""
    root = _git(repo, "rev-parse", "--show-toplevel")
    if root is None:
        return None
    try:
        return Path(folder).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return None


def read_sides(
    names: list[str], git: str | None = None, in_commit: str | None = None, repo: str | Path = "."
) -> tuple[Reports, Reports]:
    """A and B as the command line names them: two folders, or `git` (commit A) and one more
    name B, a folder or another commit. A's folder inside the commit is `in_commit`, else B's
    own path in the repository when B is a folder of it (so `--git HEAD reports/` compares the
    committed reports with the work tree's), else `reports`."""
    if git is None:
        if len(names) != 2:
            raise RunError("compare-reports: name two reports folders A B, or --git REV B")
        for name in names:
            if not Path(name).is_dir() and is_revision(name, repo):
                raise RunError(f"{name}: a commit, not a folder; read a commit with --git {name}")
        return read_reports_dir(names[0]), read_reports_dir(names[1])
    if len(names) != 1:
        raise RunError("compare-reports --git REV: name one B after it (a folder or a commit)")
    (name,) = names
    if Path(name).is_dir():
        folder = in_commit or folder_in_commit(name, repo) or "reports"
        return read_reports_git(git, folder, repo), read_reports_dir(name)
    if is_revision(name, repo):
        folder = in_commit or "reports"
        return read_reports_git(git, folder, repo), read_reports_git(name, folder, repo)
    raise RunError(f"{name}: neither a reports folder nor a commit of the git repository")


# ---------------------------------------------------------------------------------------------
# metrics


def compare_metrics(a: pd.DataFrame, b: pd.DataFrame, threshold: float = 2.0) -> dict[str, Any]:
    """Every (experiment, metric) of the per-run headline rows: its means on both sides, the
    shift B − A, the sd over seeds pooled across the two sides, z = shift / sd and a status.

    A pooled sd (not A's alone) because either side may be the odd one; the pooled variance is
    ((n_A − 1) s_A² + (n_B − 1) s_B²) / (n_A + n_B − 2). Statuses: `identical` (the same seeds
    with the same values), `within 1 sd` / `within 2 sd` / `beyond 2 sd` (by |z|), `exact
    change` (zero spread on both sides, yet the value moved: a deterministic number that
    changed), `no spread` (one seed in all: nothing to scale by) and `no value` (NaN on one
    side). A row is flagged when |z| > threshold, and always for an exact change, a changed
    number without spread and a value gone NaN; never when it is a wall-clock measurement
    (`clock` in the metric registry: it differs by machine and load)."""
    runs_a, runs_b = (headline(run_rows(t)) for t in (a, b))
    stats_a, stats_b = _seed_stats(runs_a), _seed_stats(runs_b)
    both = stats_a.add_suffix("_a").join(stats_b.add_suffix("_b"), how="inner")
    same = _same_values(runs_a, runs_b).reindex(both.index, fill_value=False)

    shift = both["mean_b"] - both["mean_a"]
    df = both["n_a"] + both["n_b"] - 2
    pooled = (both["ss_a"] + both["ss_b"]) / df.where(df > 0)
    sd = np.sqrt(pooled)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(shift == 0, 0.0, shift / sd)
    frame = pd.DataFrame(
        {
            "n_a": both["n_a"],
            "n_b": both["n_b"],
            "mean_a": both["mean_a"],
            "mean_b": both["mean_b"],
            "shift": shift,
            "sd": sd,
            "z": z,
        },
        index=both.index,
    )
    frame["status"] = [
        _status(s, row.shift, row.sd, row.z)
        for s, row in zip(same, frame.itertuples(), strict=True)
    ]
    frame["clock"] = [is_clock(metric) for _, metric in frame.index]
    frame["flagged"] = ~frame["clock"] & (
        frame["status"].isin(ALWAYS_FLAGGED) | (frame["z"].abs() > threshold)
    )
    frame = frame.assign(_order=frame["z"].abs().fillna(np.inf)).sort_values(
        ["flagged", "clock", "_order", "experiment", "metric"],
        ascending=[False, True, False, True, True],
    )
    frame = frame.drop(columns="_order").reset_index()

    keys_a, keys_b = set(stats_a.index), set(stats_b.index)
    left_out = {
        side: {
            "ensemble rows": int(len(headline(t)) - len(headline(run_rows(t)))),
            "curve points": int(t["metric"].str.startswith(CURVE_PREFIX).sum()),
        }
        for side, t in (("a", a), ("b", b))
    }
    return {
        "threshold": threshold,
        "rows": frame,
        "added": sorted(keys_b - keys_a),
        "removed": sorted(keys_a - keys_b),
        "left_out": left_out,
    }


ALWAYS_FLAGGED = ("exact change", "no spread", "no value")


def is_clock(metric: str) -> bool:
    """Whether the registry marks `metric` a measured time; an unregistered name is not."""
    try:
        return metric_info(metric).clock
    except UnknownMetricError:
        return False


def _seed_stats(runs: pd.DataFrame) -> pd.DataFrame:
    """n, mean and the sum of squared deviations over seeds (NaN values left out)."""
    grouped = runs.groupby(KEY)["value"]
    n = grouped.count()
    mean = grouped.mean()
    ss = grouped.var(ddof=1).fillna(0.0) * (n - 1).clip(lower=0)
    return pd.DataFrame({"n": n, "mean": mean, "ss": ss})


def _same_values(runs_a: pd.DataFrame, runs_b: pd.DataFrame) -> pd.Series:
    """Per (experiment, metric): the same seeds on both sides with the same values (NaN = NaN)."""
    merged = runs_a[[*KEY, "seed", "value"]].merge(
        runs_b[[*KEY, "seed", "value"]], on=[*KEY, "seed"], how="outer", indicator=True
    )
    va, vb = merged["value_x"], merged["value_y"]
    equal = (merged["_merge"] == "both") & ((va == vb) | (va.isna() & vb.isna()))
    return equal.groupby([merged[k] for k in KEY]).all()


def _status(same: bool, shift: float, sd: float, z: float) -> str:
    if same:
        return "identical"
    if math.isnan(shift):
        return "no value"
    if shift == 0:
        return "within 1 sd"
    if math.isnan(sd):
        return "no spread"
    if sd == 0:
        return "exact change"
    if abs(z) <= 1:
        return "within 1 sd"
    return "within 2 sd" if abs(z) <= 2 else "beyond 2 sd"


def metrics_summary(result: dict[str, Any]) -> dict[str, Any]:
    """Counts by status of the rows that are results (not timings), and the timings' ratio
    B / A of means (median and range): how much faster or slower B's machine ran."""
    rows = result["rows"]
    results, clocks = rows[~rows["clock"]], rows[rows["clock"]]
    counts = results["status"].value_counts()
    summary: dict[str, Any] = {"compared": int(len(results))}
    summary |= {status: int(counts.get(status, 0)) for status in STATUSES}
    summary |= {"flagged": int(rows["flagged"].sum())}
    summary |= {"added": len(result["added"]), "removed": len(result["removed"])}
    ratio = (clocks["mean_b"] / clocks["mean_a"]).replace([np.inf, -np.inf], np.nan).dropna()
    summary["timings"] = {
        "rows": int(len(clocks)),
        "metrics": sorted(set(clocks["metric"])),
        "ratio_median": float(ratio.median()) if len(ratio) else None,
        "ratio_min": float(ratio.min()) if len(ratio) else None,
        "ratio_max": float(ratio.max()) if len(ratio) else None,
    }
    return summary


STATUSES = (
    "identical",
    "within 1 sd",
    "within 2 sd",
    "beyond 2 sd",
    "exact change",
    "no spread",
    "no value",
)


# ---------------------------------------------------------------------------------------------
# claims


def compare_claims(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, Any]:
    """Every claim (by study and name) whose verdict differs, with each comparison's effect and
    p-value on both sides, and the claims that one side alone holds."""
    by_a, by_b = ({(c["study"], c["name"]): c for c in side} for side in (a, b))
    changed = []
    for key in sorted(by_a.keys() & by_b.keys()):
        ca, cb = by_a[key], by_b[key]
        if ca["verdict"] != cb["verdict"]:
            changed.append(
                {
                    "study": key[0],
                    "name": key[1],
                    "verdict_a": ca["verdict"],
                    "verdict_b": cb["verdict"],
                    "comparisons": _paired_comparisons(ca, cb),
                }
            )
    return {
        "compared": len(by_a.keys() & by_b.keys()),
        "changed": changed,
        "added": [f"{s}/{n}" for s, n in sorted(by_b.keys() - by_a.keys())],
        "removed": [f"{s}/{n}" for s, n in sorted(by_a.keys() - by_b.keys())],
    }


COMPARISON_FIELDS = ("effect", "ci_low", "ci_high", "p_value", "exact", "n_a", "n_b", "passed")


def _paired_comparisons(ca: dict[str, Any], cb: dict[str, Any]) -> list[dict[str, Any]]:
    """A claim's comparisons matched by (metric, a, b) across the two sides; a point of a
    deep-ensemble-equivalent curve has no `b`, its number of samples stands there."""

    def keyed(claim: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {
            f"{c['metric']}: {c['a']} vs {c['b'] if 'b' in c else c['samples']}": c
            for c in claim.get("comparisons", [])
        }

    ka, kb = keyed(ca), keyed(cb)
    return [
        {"comparison": name}
        | {f"{f}_A": ka.get(name, {}).get(f) for f in COMPARISON_FIELDS}
        | {f"{f}_B": kb.get(name, {}).get(f) for f in COMPARISON_FIELDS}
        for name in [*ka, *(k for k in kb if k not in ka)]
    ]


# ---------------------------------------------------------------------------------------------
# the whole comparison and its pages


def compare_reports(a: Reports, b: Reports, threshold: float = 2.0) -> dict[str, Any]:
    """Both comparisons, JSON-ready: every metric row (not only the flagged ones)."""
    metrics = compare_metrics(a.metrics, b.metrics, threshold)
    rows = metrics["rows"].astype(object).where(metrics["rows"].notna(), None)
    records = [
        {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in r.items()}
        for r in rows.to_dict("records")
    ]
    return {
        "a": a.label,
        "b": b.label,
        "metrics": {
            "threshold": threshold,
            "scope": SCOPE,
            "summary": metrics_summary(metrics),
            "left_out": metrics["left_out"],
            "rows": records,
            "added": [{"experiment": e, "metric": m} for e, m in metrics["added"]],
            "removed": [{"experiment": e, "metric": m} for e, m in metrics["removed"]],
        },
        "claims": compare_claims(a.claims, b.claims),
    }


SCOPE = (
    "per-run headline rows of metrics.csv (seed a number); ensemble rows (seed `all` or "
    "members `0+1`, no seed spread) and curve points (`curve_*`) left out"
)


def markdown(result: dict[str, Any], top: int | None = None) -> str:
    """The comparison as Markdown that also reads in a terminal (padded tables): the metric
    rows by |z|, all flagged ones (or the first `top`) and a count of the rest, then the
    verdicts that changed."""
    m, c = result["metrics"], result["claims"]
    s = m["summary"]
    lines = [f"# Reports compared\n\nA: `{result['a']}`  \nB: `{result['b']}`\n", "## Metrics\n"]
    extra = [
        f"{s[status]} `{status}`"
        for status in ("exact change", "no spread", "no value")
        if s[status]
    ]
    lines.append(
        f"{s['compared']} metrics (experiment × metric) in both: {s['identical']} identical, "
        f"{s['within 1 sd']} within 1 sd, {s['within 2 sd']} within 2 sd, "
        f"{s['beyond 2 sd']} beyond 2 sd" + "".join(f", {e}" for e in extra) + "; "
        f"{s['flagged']} flagged (|z| > {m['threshold']:g}). z = (mean B − mean A) / sd, the "
        "sd over seeds pooled across A and B; `exact change`: zero spread, yet the value moved; "
        "`no spread`: one seed in all."
    )
    timings = s["timings"]
    if timings["rows"]:
        lines.append(
            f"\nTimings ({', '.join(timings['metrics'])}: measured, they differ by machine and "
            f"load, never flagged): {timings['rows']} row(s), mean B / mean A "
            f"{_number(timings['ratio_median'])} (median; {_number(timings['ratio_min'])} to "
            f"{_number(timings['ratio_max'])})."
        )
    left = m["left_out"]
    lines.append(
        f"\nLeft out: ensemble rows (A {left['a']['ensemble rows']}, B "
        f"{left['b']['ensemble rows']}: one number each, no seed spread) and curve points "
        f"(A {left['a']['curve points']}, B {left['b']['curve points']}).\n"
    )
    rows = m["rows"]
    shown = rows[:top] if top is not None else [r for r in rows if r["flagged"]]
    if shown:
        header = ("experiment", "metric", "n A/B", "mean A", "mean B", "shift", "sd", "z", "status")
        lines.append(_table(header, [_metric_cells(r) for r in shown]))
    rest = rows[len(shown) :] if top is not None else [r for r in rows if not r["flagged"]]
    if rest:
        flagged = sum(r["flagged"] for r in rest)
        lines.append(
            f"\n… and {len(rest)} more rows ({flagged} flagged) not shown: every row is in --json."
        )
    for side, word in (("added", "only in B"), ("removed", "only in A")):
        if m[side]:
            names = ", ".join(f"{r['experiment']}/{r['metric']}" for r in m[side])
            lines.append(f"\n{len(m[side])} {side} ({word}): {names}")
    lines.append("\n## Verdicts\n")
    lines.append(
        f"{c['compared']} claims in both: {c['compared'] - len(c['changed'])} same verdict, "
        f"{len(c['changed'])} changed; {len(c['added'])} only in B, {len(c['removed'])} only "
        "in A."
    )
    if c["changed"]:
        header = ("claim", "verdict A → B", "comparison", "effect A → B", "p A → B")
        lines.append(
            "\n" + _table(header, [cells for r in c["changed"] for cells in _claim_cells(r)])
        )
    for side, word in (("added", "only in B"), ("removed", "only in A")):
        if c[side]:
            lines.append(f"\nClaims {word}: {', '.join(c[side])}")
    return "\n".join(lines) + "\n"


def _number(x: float | None, fmt: str = ".4g") -> str:
    """Four significant digits; means get six, so that a count such as `params` that moved by
    a few still reads as two numbers."""
    return "—" if x is None else format(x, fmt)


def _metric_cells(row: dict[str, Any]) -> tuple[str, ...]:
    status = row["status"]
    z = row["z"]
    z_cell = {"exact change": "exact", "no spread": "—", "no value": "—"}.get(status)
    if z_cell is None:
        z_cell = f"{z:+.2f}"
    return (
        row["experiment"],
        row["metric"],
        f"{row['n_a']}/{row['n_b']}",
        _number(row["mean_a"], ".6g"),
        _number(row["mean_b"], ".6g"),
        "—" if row["shift"] is None else f"{row['shift']:+.4g}",
        _number(row["sd"]),
        z_cell,
        ("⚑ " if row["flagged"] else "") + status + (" (timing)" if row["clock"] else ""),
    )


def _p(comparison: dict[str, Any], side: str) -> str:
    if comparison[f"exact_{side}"]:
        return "exact"
    return _number(comparison[f"p_value_{side}"])


def _claim_cells(record: dict[str, Any]) -> list[tuple[str, ...]]:
    name = f"{record['study']}/{record['name']}"
    verdict = f"{record['verdict_a']} → {record['verdict_b']}"
    comparisons = record["comparisons"] or [None]
    return [
        (
            name if i == 0 else "",
            verdict if i == 0 else "",
            "" if c is None else c["comparison"],
            "" if c is None else f"{_number(c['effect_A'])} → {_number(c['effect_B'])}",
            "" if c is None else f"{_p(c, 'A')} → {_p(c, 'B')}",
        )
        for i, c in enumerate(comparisons)
    ]


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A Markdown table padded to fixed widths, so that it lines up in a terminal too."""
    escaped = [tuple(str(cell).replace("|", "\\|") for cell in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in escaped) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in escaped
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def write_comparison(
    result: dict[str, Any], out: str | Path | None, json_out: str | Path | None, top: int | None
) -> str:
    """The Markdown page (written to `out` when given) and the full JSON (to `json_out`)."""
    text = markdown(result, top)
    if out is not None:
        with atomic_path(out) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    if json_out is not None:
        write_json(json_out, result)
    return text
