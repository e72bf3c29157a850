"""The claims page: one table of the papers' claims, ours against the paper's, with the test
and its verdict, rendered from `claims.json` (methodlib/report/claims.py). It opens
`reports/index.md` and is `reports/claims.md`, the page the README links to."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from methodlib.io import atomic_path, read_json
from methodlib.report.metric_registry import format_value, metric_info
from methodlib.report.tables import dee_bound

MARKS = {
    "holds": "✅ holds",
    "not shown": "➖ not shown",
    "contradicted": "❌ contradicted",
    "undecided": "❔ undecided",
    "missing": "∅ not run",
}
TEST_NAMES = {
    "welch": "Welch t",
    "paired": "paired t",
    "bootstrap": "bootstrap",
    "tost": "TOST",
    "one_sample": "one-sample t",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _mean_sd(metric: str, s: dict[str, Any] | None) -> str:
    if s is None:
        return "—"
    sd = "" if s["sd"] is None else f" ± {format_value(metric, s['sd'])}"
    return f"{format_value(metric, s['mean'])}{sd} ({s['n']})"


def _dee(s: dict[str, Any] | None, size: int | None) -> str:
    """DEE clipped at the curve's ends reads as a bound, not as the bound's number."""
    if s is None:
        return "—"
    bound = dee_bound(s["mean"], s["sd"], size)
    return f"{bound} ({s['n']})" if bound else _mean_sd("dee", s)


def ours(record: dict[str, Any], labels: dict[str, str]) -> str:
    """Mean ± sd (seeds) of every arm, per metric."""
    parts = []
    for metric in record["metrics"]:
        name = metric_info(metric).display
        arms = [
            f"{labels.get(arm, arm)} "
            + (
                _dee(values.get(metric), record.get("reference_size"))
                if metric == "dee"
                else _mean_sd(metric, values.get(metric))
            )
            for arm, values in ((a["arm"], a["metrics"]) for a in record["arms"])
        ]
        parts.append(f"{name}: " + "; ".join(arms))
    return "<br>".join(parts)


def comparison_cell(record: dict[str, Any], labels: dict[str, str]) -> str:
    """The test, effect, interval and p-value of each comparison (a DEE claim: a count of its
    points and the weakest one)."""
    comparisons = record["comparisons"]
    if not comparisons:
        return TEST_NAMES[record["test"]]
    name = TEST_NAMES[record["test"]]
    if record["test"] == "one_sample":
        passed = sum(c["passed"] for c in comparisons)
        worst = max(comparisons, key=lambda c: c["p_value"] if c["p_value"] is not None else 2)
        text = (
            f"{name}, one-sided, DEE(k) < k at each k ≥ 2: {passed} of {len(comparisons)} points "
            f"pass; weakest {labels.get(worst['a'], worst['a'])} at k = {worst['samples']}: "
            f"DEE − k = {worst['effect']:+.2f}, {_p(worst['p_value'])}"
        )
        if record["excluded"]:
            text += f"; {len(record['excluded'])} points unreadable (DEE or k ≥ the reference size)"
        return text
    lines = []
    for c in comparisons:
        metric = c["metric"]
        effect = _signed(metric, c["effect"])
        interval = (
            "—"
            if c["ci_low"] is None
            else f"[{_signed(metric, c['ci_low'])}, {_signed(metric, c['ci_high'])}]"
        )
        sided = "equivalence" if c["test"] == "tost" else "one-sided"
        margin = f", margin ±{format_value(metric, c['margin'])}" if "margin" in c else ""
        if "tolerance" in c:
            margin = f", non-inferiority within {format_value(metric, c['tolerance'])}"
        lines.append(
            f"{metric_info(metric).display}, {_arm(c['a'], labels)} − "
            f"{_arm(c['b'], labels)}: Δ = {effect}, {c['ci_level']:.0%} CI {interval}"
            f"{margin}; {TEST_NAMES[c['test']]} ({sided}) {_p(c['p_value'])}, "
            f"n = {c['n_a']}/{c['n_b']}"
        )
    return "<br>".join(lines)


def _arm(arm: str | float, labels: dict[str, str]) -> str:
    """An experiment arm's label; a threshold arm (a number) as itself."""
    return f"{arm:g}" if isinstance(arm, float | int) else labels.get(arm, arm)


def _signed(metric: str, value: float) -> str:
    text = format_value(metric, abs(value))
    return ("−" if value < 0 else "+") + text


def _p(p: float | None) -> str:
    if p is None:
        return "p —"
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.4f}"


HEADER = ("claim", "paper", "ours: mean ± sd (seeds)", "test at α = 0.05", "verdict")


def claim_rows(claims: list[dict[str, Any]], labels: dict[str, str]) -> list[tuple[str, ...]]:
    """One row of cells per claim (lines within a cell joined by `<br>`)."""
    return [
        (
            f"{record['study']}: {record['statement']}",
            "<br>".join(x for x in (record["paper"], record["paper_value"]) if x) or "—",
            ours(record, labels),
            comparison_cell(record, labels),
            MARKS[record["verdict"]],
        )
        for record in claims
    ]


def tally(claims: list[dict[str, Any]]) -> str:
    counts = {v: sum(r["verdict"] == v for r in claims) for v in MARKS}
    return f"{len(claims)} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + "."


def claims_table(claims: list[dict[str, Any]], labels: dict[str, str]) -> str:
    """The Markdown table (index.md and claims.md)."""
    if not claims:
        return "_no claims declared (`claims:` in the pipeline file)_"
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in claim_rows(claims, labels)]
    return "\n".join(lines) + f"\n\n{tally(claims)}"


def claims_html(claims: list[dict[str, Any]], labels: dict[str, str]) -> str:
    """The same table as a page of its own: what `snakemake --report` shows first."""

    def cell(text: str, tag: str = "td") -> str:
        return f"<{tag}>" + "<br>".join(html.escape(t) for t in text.split("<br>")) + f"</{tag}>"

    rows = "\n".join(
        "<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in claim_rows(claims, labels)
    )
    head = "<tr>" + "".join(cell(h, "th") for h in HEADER) + "</tr>"
    preamble = "".join(f"<p>{html.escape(p)}</p>" for p in PREAMBLE_TEXT.split("\n\n"))
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Claims</title><style>'
        "body{font-family:sans-serif;font-size:14px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
        f"</style></head><body><h1>Claims</h1>{preamble}<table>{head}\n{rows}</table>"
        f"<p>{html.escape(tally(claims))}</p></body></html>\n"
    )


PREAMBLE_TEXT = (
    "Generated by `snakemake` from `claims.json`; do not edit by hand. Each claim of the "
    "papers is decided by a statistical test over seeds at α = 0.05, never by comparing two "
    "means: one-sided t-tests (paired when the two runs share seeds and weights, Welch "
    "otherwise; one-sample against a paper's threshold), a bootstrap interval, or two "
    "one-sided tests (TOST) for an equivalence within a stated margin. Δ is the first "
    "method's mean minus the second's, with its 90 % confidence interval (it excludes zero "
    "exactly when the one-sided test passes).\n\n*not shown*: the difference is within these "
    "seeds' noise; *contradicted*: significant the other way; *undecided*: fewer than two "
    "seeds. The claims are declared under `claims:` in the pipeline file or the files it "
    "includes."
)


def write_claims_page(
    claims_json: str | Path, out: str | Path, html_out: str | Path | None = None
) -> str:
    """`claims.md` and, for `snakemake --report`, `claims.html`."""
    data = read_json(claims_json)
    claims, labels = data["claims"], data.get("labels", {})
    text = f"# Claims\n\n{PREAMBLE_TEXT}\n\n{claims_table(claims, labels)}\n"
    with atomic_path(out) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    if html_out is not None:
        with atomic_path(html_out) as tmp:
            Path(tmp).write_text(claims_html(claims, labels), encoding="utf-8")
    return text
