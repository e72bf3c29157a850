"""The table of a text run's generated texts beside test texts (first seed), as Markdown: the
report's look at what a text model writes, which no single number shows."""

from __future__ import annotations

from pathlib import Path

from methodlib.io import atomic_path
from methodlib.routines.text_eval import text_sets

ROWS = 12  # generated texts per table; test texts get half as many


def sample_table(experiment: str, predictions: str | Path, out: str | Path) -> None:
    sets, reference = text_sets(predictions)
    lines = [
        f"# {experiment}: generated texts (first seed)",
        "",
        "| # | generated | sampler |",
        "|---|---|---|",
    ]
    for key, texts in sorted(sets.items()):
        sampler = key.lstrip("_") or "main"
        rows = texts[: ROWS if not key else ROWS // 4]
        lines += [f"| {i + 1} | {_cell(t)} | {sampler} |" for i, t in enumerate(rows)]
    lines += ["", "| # | test text |", "|---|---|"]
    lines += [f"| {i + 1} | {_cell(t)} |" for i, t in enumerate(reference[: ROWS // 2])]
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _cell(text: str) -> str:
    return (text or "*(empty)*").replace("|", "\\|")
