"""The claims page: the forest plot of every comparison (methodlib/report/claims_forest.py),
the counts of verdicts by registration state and origin, and one table of the claims, ours
against the paper's, with the test, its power and the verdict, rendered from `claims.json`
(methodlib/report/claims.py) alone. The table opens `reports/index.md`; the page is
`reports/claims.md` (the page the README links to) and `claims.html` (`snakemake --report`).

Fields of the registration protocol (`registration`, `basis`, `looks`, `power`, `exact`, ...)
are shown where the record has them and read "—" where it predates them."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Any

from methodlib.io import atomic_path, read_json
from methodlib.report.claim_display import (
    NOT_RECORDED,
    STANDINGS,
    VERDICTS,
    origin,
    standing,
    verdict_words,
)
from methodlib.report.metric_registry import format_value, metric_info
from methodlib.report.tables import dee_bound

MARKS = {
    "holds": "✅",
    "not shown": "➖",
    "contradicted": "❌",
    "underpowered": "⚠️",
    "undecided": "❔",
    "missing": "∅",
}
TEST_NAMES = {
    "welch": "Welch t",
    "paired": "paired t",
    "bootstrap": "bootstrap",
    "tost": "TOST",
    "one_sample": "one-sample t",
    "bootstrap_dee": "bootstrap over seeds",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _mean_sd(metric: str, s: dict[str, Any] | None) -> str:
    if s is None:
        return "—"
    sd = "" if s["sd"] is None else f" ± {format_value(metric, s['sd'])}"
    return f"{format_value(metric, s['mean'])}{sd} ({s['n']})"


def _dee(s: dict[str, Any] | None, size: int | None) -> str:
    """The seed-mean DEE with its bootstrap interval; clipped at the curve's ends it reads as
    a bound, not as the bound's number."""
    if s is None:
        return "—"
    bound = dee_bound(s["mean"], s["sd"], size)
    if bound:
        return f"{bound} ({s['n']})"
    ci = s.get("ci")
    interval = (
        "" if ci is None else f" [{format_value('dee', ci[0])}, {format_value('dee', ci[1])}]"
    )
    return f"{format_value('dee', s['mean'])}{interval} ({s['n']})"


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
    name = TEST_NAMES[record["test"]]
    looks = _looks(record)
    if not comparisons:
        return "<br>".join(x for x in (name, looks) if x)
    if record["test"] == "bootstrap_dee":
        passed = sum(c["passed"] for c in comparisons)
        worst = max(comparisons, key=lambda c: c["p_value"] if c["p_value"] is not None else 2)
        text = (
            f"{name}, one-sided, DEE(k) of the seed-mean calibrated NLL < k at each k ≥ 2: "
            f"{passed} of {len(comparisons)} points pass; weakest "
            f"{labels.get(worst['a'], worst['a'])} at k = {worst['samples']}: "
            f"DEE − k = {worst['effect']:+.2f}, {worst['ci_level']:.0%} CI "
            f"[{worst['ci_low']:+.2f}, {worst['ci_high']:+.2f}], {_p(worst)}"
        )
        if record["excluded"]:
            text += f"; {len(record['excluded'])} points unreadable (DEE or k ≥ the reference size)"
        return "<br>".join(x for x in (looks, text) if x)
    lines = [looks] if looks else []
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
            f"{margin}; {TEST_NAMES[c['test']]} ({sided}) {_p(c)}, "
            f"n = {c['n_a']}/{c['n_b']}{_power(metric, c.get('power'))}"
        )
    return "<br>".join(lines)


def _target_kind(kind: str | None) -> str:
    """ "effect_of_interest" reads "effect of interest"; a record without it "target"."""
    return (kind or "target").replace("_", " ")


def _looks(record: dict[str, Any]) -> str:
    """A claim decided again after more seeds: how many looks and the level each one gets."""
    looks = record.get("looks") or 1
    if looks <= 1:
        return ""
    return f"{looks} looks: each at α = {record['alpha_used']:.4g} (Bonferroni, α / looks)"


def _power(metric: str, power: dict[str, Any] | None) -> str:
    """ "; MDE 1.20% at n = 3; tolerance 1.50% needs n ≈ 12": the smallest effect these seeds
    detect with 80 % power, and the n the claim's target effect needs."""
    if not power:
        return ""
    text = ""
    if power.get("mde") is not None:
        text += f"; MDE {format_value(metric, power['mde'])} at n = {power['n']}"
    if power.get("needed_n") is not None and power.get("target") is not None:
        text += (
            f"; {_target_kind(power.get('target_kind'))} "
            f"{format_value(metric, abs(power['target']))}"
            f" needs n ≈ {power['needed_n']}"
        )
    return text


def _arm(arm: str | float, labels: dict[str, str]) -> str:
    """An experiment arm's label; a threshold arm (a number) as itself."""
    return f"{arm:g}" if isinstance(arm, float | int) else labels.get(arm, arm)


def _signed(metric: str, value: float) -> str:
    text = format_value(metric, abs(value))
    return ("−" if value < 0 else "+") + text


def _p(c: dict[str, Any]) -> str:
    """The p-value, or "exact" where both arms have no spread (decided with certainty)."""
    if c.get("exact"):
        return "exact"
    p = c["p_value"]
    if p is None:
        return "p —"
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.4f}"


HEADER = (
    "claim",
    "paper",
    "ours: mean ± sd (seeds)",
    "test at α = 0.05",
    "verdict",
    "registration",
)


def paper_cell(record: dict[str, Any]) -> str:
    """The paper's locator and number; a claim of ours (an extension) says so first."""
    text = "<br>".join(x for x in (record["paper"], record["paper_value"]) if x) or "—"
    return f"ours (not in the paper)<br>{text}" if origin(record) == "ours" else text


def registration_cell(record: dict[str, Any]) -> str:
    """When and at which commit the design was registered, each amendment with its date,
    the fields it changed and the reason given; "—" for a record without the field."""
    registration = record.get("registration")
    if not registration:
        return "exploratory: decided on pilot seeds" if record.get("basis") == "pilot" else "—"
    state = registration["state"]
    lines = [state]
    if registration.get("registered"):
        lines[0] += f" {registration['registered']}{_short(registration.get('commit'))}"
    if state != "exploratory" and record.get("basis") == "pilot":
        lines.append("decided on pilot seeds: exploratory")
    for amendment in registration.get("amendments") or []:
        changed = ", ".join(amendment.get("changed") or []) or "design"
        commit = _short(amendment.get("commit"))
        lines.append(f"amended {amendment['date']}{commit}: {changed}: {amendment['reason']}")
    return "<br>".join(lines)


def _short(commit: str | None) -> str:
    """A commit as git abbreviates it, in parentheses ("" without one)."""
    return f" ({commit[:7]})" if commit else ""


def claim_rows(claims: list[dict[str, Any]], labels: dict[str, str]) -> list[tuple[str, ...]]:
    """One row of cells per claim (lines within a cell joined by `<br>`)."""
    return [
        (
            f"{record['study']}: {record['statement']}",
            paper_cell(record),
            ours(record, labels),
            comparison_cell(record, labels),
            f"{MARKS[record['verdict']]} {verdict_words(record)}",
            registration_cell(record),
        )
        for record in claims
    ]


def tally(claims: list[dict[str, Any]]) -> str:
    counts = {v: sum(r["verdict"] == v for r in claims) for v in VERDICTS}
    return f"{len(claims)} claims: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + "."


def _md_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows])


def _html_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    def cell(text: str, tag: str = "td") -> str:
        return f"<{tag}>" + "<br>".join(html.escape(t) for t in text.split("<br>")) + f"</{tag}>"

    head = "<tr>" + "".join(cell(h, "th") for h in header) + "</tr>"
    body = "\n".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table>{head}\n{body}</table>"


def claims_table(claims: list[dict[str, Any]], labels: dict[str, str]) -> str:
    """The Markdown table (index.md and claims.md)."""
    if not claims:
        return "_no claims declared (`claims:` in the pipeline file)_"
    return _md_table(HEADER, claim_rows(claims, labels)) + f"\n\n{tally(claims)}"


ORIGINS = {"paper": "Paper claims", "ours": "Ours (extensions)", NOT_RECORDED: "Claims"}
ADEQUATE = ("holds", "contradicted", "not shown")
"""Verdicts reached at adequate power (not shown: the design could have seen the effect)."""


def summary_tables(claims: list[dict[str, Any]]) -> list[tuple[str, tuple, list[tuple]]]:
    """Per origin (paper claims and ours apart): the count of each verdict by what it stands
    on (`claim_display.STANDINGS`), as (title, header, rows); verdicts no claim has are left
    out."""
    verdicts = [v for v in VERDICTS if any(r["verdict"] == v for r in claims)]
    header = ("stands on", *verdicts, "all")
    tables = []
    for kind, title in ORIGINS.items():
        group = [r for r in claims if origin(r) == kind]
        if not group:
            continue
        rows = []
        for state in (*STANDINGS, NOT_RECORDED):
            members = [r for r in group if standing(r) == state]
            if members:
                counts = [sum(r["verdict"] == v for r in members) for v in verdicts]
                rows.append((state, *map(str, counts), str(len(members))))
        counts = [sum(r["verdict"] == v for r in group) for v in verdicts]
        rows.append(("all", *map(str, counts), str(len(group))))
        tables.append((title, header, rows))
    return tables


def adequacy_line(claims: list[dict[str, Any]]) -> str:
    """How many registered paper claims their confirmatory design decided, the line a reader
    trusts, and how the rest stand on their pilots (which never confirm)."""
    if not any(r.get("registration") for r in claims):
        return "Registration: — (this claims.json predates `claims.lock`)."
    paper = [r for r in claims if origin(r) == "paper"]
    registered = [r for r in paper if standing(r) != "not registered"]
    confirmed = [r for r in registered if standing(r) in ("confirmatory", "amended after results")]
    pilot = [r for r in registered if standing(r) == STANDINGS[2]]
    adequate = sum(r["verdict"] in ADEQUATE for r in confirmed)
    on_pilot = sum(r["verdict"] in ADEQUATE for r in pilot)
    return (
        f"Of the {len(paper)} paper claims, {len(registered)} are registered in `claims.lock`; "
        f"{len(confirmed)} stand on their confirmatory seeds, and {adequate} of those are "
        f"decided (holds, contradicted) or not shown at adequate power. {len(pilot)} are decided on "
        f"their pilot only (exploratory, never a confirmation): on the pilot, {on_pilot} of "
        "them would be decided or not shown at adequate power, the others are underpowered, "
        "undecided or not run."
    )


FOREST_CAPTION = (
    "Every comparison at a glance: its effect and 90 % interval, turned so that right is the "
    "claim's side and divided by the row's [reference] (its tolerance or margin, else the "
    "arms' pooled sd), so that 0 is the line of a superiority claim, −1 of a "
    "non-inferiority and ±1 of an equivalence. Colour: the claim's verdict; hollow: "
    "exploratory."
)


def _forest_md(forest: str | Path | None, out: str | Path) -> str:
    if forest is None:
        return ""
    link = Path(os.path.relpath(forest, Path(out).parent)).as_posix()
    return f"![forest plot of the claims]({link})\n\n{FOREST_CAPTION}\n\n"


def _forest_html(forest: str | Path | None, out: str | Path) -> str:
    """The figure inlined (`snakemake --report` shows the page on its own, where no relative
    link resolves); a link where the figure has not been drawn."""
    if forest is None:
        return ""
    path = Path(forest)
    if path.exists():
        source = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
    else:
        source = Path(os.path.relpath(path, Path(out).parent)).as_posix()
    return (
        f'<figure><img src="{source}" alt="forest plot of the claims" style="max-width:100%">'
        f"<figcaption>{html.escape(FOREST_CAPTION)}</figcaption></figure>"
    )


def summary_md(claims: list[dict[str, Any]]) -> str:
    parts = [tally(claims), adequacy_line(claims)]
    for title, header, rows in summary_tables(claims):
        parts.append(f"**{title}**\n\n{_md_table(header, rows)}")
    return "\n\n".join(parts)


def claims_html(
    claims: list[dict[str, Any]],
    labels: dict[str, str],
    forest: str | Path | None = None,
    out: str | Path = ".",
) -> str:
    """The same page as HTML: what `snakemake --report` shows first."""
    preamble = "".join(f"<p>{html.escape(p)}</p>" for p in PREAMBLE_TEXT.split("\n\n"))
    summary = f"<p>{html.escape(tally(claims))} {html.escape(adequacy_line(claims))}</p>"
    summary += "".join(
        f"<h3>{html.escape(title)}</h3>{_html_table(header, rows)}"
        for title, header, rows in summary_tables(claims)
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Claims</title><style>'
        "body{font-family:sans-serif;font-size:14px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
        f"</style></head><body><h1>Claims</h1>{_forest_html(forest, out)}{summary}{preamble}"
        f"{_html_table(HEADER, claim_rows(claims, labels))}</body></html>\n"
    )


PREAMBLE_TEXT = (
    "Generated by `snakemake` from `claims.json`; do not edit by hand. Each claim of the "
    "papers is decided by a statistical test over seeds at α = 0.05, never by comparing two "
    "means: one-sided t-tests (paired when the two runs share seeds and weights, Welch "
    "otherwise; one-sample against a paper's threshold), a bootstrap interval, or two "
    "one-sided tests (TOST) for an equivalence within a stated margin. Δ is the first "
    "method's mean minus the second's, with its 90 % confidence interval (it excludes zero "
    "exactly when the one-sided test passes); *exact*: both arms without spread, decided "
    "with certainty. MDE: the smallest effect these seeds detect at the claim's level with "
    "80 % power; a claim decided again after more seeds tests each look at α / looks."
    "\n\n*not shown*: the difference is within these seeds' noise although they could have "
    "seen the claimed effect; *underpowered*: not shown, and the seeds could not have seen "
    "it (needs n ≈ N per arm); *contradicted*: significant the other way; *undecided*: fewer "
    "than two seeds. *exploratory*: the claim's design is not registered in `claims.lock`, "
    "or it was decided on pilot seeds, which were seen before it: a hypothesis, not a "
    "confirmation; *amended after results*: its design changed after its arms had results "
    "(what changed and why is in its row). The claims are declared under `claims:` in the "
    "pipeline file or the files it includes."
)


def write_claims_page(
    claims_json: str | Path,
    out: str | Path,
    html_out: str | Path | None = None,
    forest: str | Path | None = None,
) -> str:
    """`claims.md` and, for `snakemake --report`, `claims.html`, opening with the forest plot
    `forest` (linked from the Markdown, inlined in the HTML) where one is given."""
    data = read_json(claims_json)
    claims, labels = data["claims"], data.get("labels", {})
    text = (
        f"# Claims\n\n{_forest_md(forest, out)}{summary_md(claims)}\n\n{PREAMBLE_TEXT}\n\n"
        f"{claims_table(claims, labels)}\n"
    )
    with atomic_path(out) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    if html_out is not None:
        with atomic_path(html_out) as tmp:
            Path(tmp).write_text(claims_html(claims, labels, forest, html_out), encoding="utf-8")
    return text
