"""The README's time table and verdict counts, written from the timed run rather than by hand.

`benchmarks/default_pipeline.py` times one `snakemake --cores all` of the default pipeline from
a fresh clone and writes each study's share of it (`per_study`: its jobs plus the prepared data
and judges it needs, over the cores) to `benchmarks/results/default_pipeline.json`. The README
quotes that run; this prints its table (and the line above it) from the JSON, so the README is
edited by pasting, and `tests/test_readme_studies.py` checks that the two still agree. The
same goes for the results section's verdicts: the claims page's count lines and a table of each
study's verdicts, from the `reports/claims.json` that run wrote.

    python benchmarks/readme_tables.py [--record benchmarks/results/default_pipeline.json]
    python benchmarks/readme_tables.py --write README.md    # after a published run

`--write` replaces the README's marked blocks (`<!-- readme_tables:NAME -->` ...
`<!-- /readme_tables:NAME -->`, NAME one of `BLOCKS`) with what this prints, and leaves the
rest of the file as it is: a published run updates the README by one command, and the test
checks that rewriting changes nothing.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "benchmarks" / "results" / "default_pipeline.json"
VERDICTS = ("holds", "contradicted", "not shown", "underpowered")


def duration(seconds: float) -> str:
    """Seconds as the README writes them: under two minutes in seconds, else minutes (one
    decimal under ten), else hours and minutes."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 10:
        return f"{minutes:.1f} min"
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{int(minutes // 60)} h {minutes % 60:.0f} min"


def time_table(record: dict[str, Any], titles: dict[str, str], runs: dict[str, int]) -> str:
    """The Markdown table of every study the record timed: its target, title, runs and the
    time its target takes alone on the record's cores."""
    cores = record["cores"]
    rows = [
        "| target | study | runs | time alone on " + f"{cores} cores |",
        "|---|---|---:|---:|",
    ]
    for study in record["studies"]:
        share = record["per_study"][study]
        rows.append(
            f"| `snakemake --cores all study_{study}` | {titles.get(study, study)} | "
            f"{runs.get(study, 0)} | {duration(share['alone_seconds'])} |"
        )
    return "\n".join(rows)


def headline(record: dict[str, Any]) -> str:
    """One sentence on the whole run: wall time, runs, jobs and CPU."""
    return (
        f"One `snakemake --cores all` of `{record['pipeline']}` from a fresh clone: "
        f"**{duration(record['seconds'])}** of wall time ({record['seconds']:.0f} s) for "
        f"{record['runs']} runs in {len(record['studies'])} studies, {record['jobs']} jobs, "
        f"{record['cpu_seconds']:.0f} CPU seconds on {record['cores']} cores "
        f"({record['machine']['cpu_model']}, created {record['created']})."
    )


def verdict_table(claims: list[dict[str, Any]]) -> str:
    """Each study's claims by verdict (paper claims and ours together), and what they stand on:
    confirmatory seeds registered before they ran, or a pilot."""
    rows = [
        "| study | claims | " + " | ".join(VERDICTS) + " | other | on confirmatory seeds |",
        "|---|---:|" + "---:|" * (len(VERDICTS) + 2),
    ]
    studies = sorted({c["study"] for c in claims})
    for study in [*studies, None]:
        mine = [c for c in claims if study is None or c["study"] == study]
        counts = Counter(c["verdict"] for c in mine)
        other = sum(n for v, n in counts.items() if v not in VERDICTS)
        confirmed = sum(c.get("basis") == "confirmatory" for c in mine)
        cells = [str(counts.get(v, 0)) for v in VERDICTS]
        name = "**all**" if study is None else study
        rows.append(
            f"| {name} | {len(mine)} | " + " | ".join(cells) + f" | {other} | {confirmed} |"
        )
    return "\n".join(rows)


def claims_summary(claims_page: str) -> list[str]:
    """The claims page's count lines: every claim by verdict, and the paper claims' share
    decided or not shown at adequate power."""
    lines = [
        line
        for line in claims_page.splitlines()
        if " claims: " in line and line.endswith(".") or line.startswith("Of the ")
    ]
    return list(dict.fromkeys(lines))  # the first line is also the forest plot's caption


def pipeline_facts(path: Path) -> tuple[dict[str, str], dict[str, int]]:
    """Each study's title and its number of runs (experiment × seed) in the pipeline file."""
    from methodlib.spec import load_pipeline

    pipeline = load_pipeline(path)
    titles = {name: study.title for name, study in pipeline.studies.items()}
    runs = {
        study: sum(len(pipeline.seeds_of(e)) for e in pipeline.experiments_in(study))
        for study in pipeline.study_names()
    }
    return titles, {study: n for study, n in runs.items() if n}


BLOCKS = ("headline", "time_table", "verdicts")


def blocks(record: dict[str, Any], root: Path = ROOT) -> dict[str, str]:
    """Each README block's text, from the record and the reports under `root`."""
    titles, runs = pipeline_facts(root / record["pipeline"])
    reports = root / "reports"
    summary = claims_summary((reports / "claims.md").read_text())
    claims = json.loads((reports / "claims.json").read_text())["claims"]
    return {
        "headline": headline(record),
        "time_table": time_table(record, titles, runs),
        "verdicts": "\n\n".join([*summary, verdict_table(claims)]),
    }


def rewrite(readme: str, texts: dict[str, str]) -> str:
    """The README with each marked block's body replaced by its text; a block missing from
    the README is an error (the README would silently keep an old run's numbers)."""
    for name, text in texts.items():
        start, end = f"<!-- readme_tables:{name} -->", f"<!-- /readme_tables:{name} -->"
        found = re.search(re.escape(start) + ".*?" + re.escape(end), readme, re.DOTALL)
        if found is None:
            raise SystemExit(f"the README has no block {start} ... {end}")
        readme = readme[: found.start()] + f"{start}\n{text}\n{end}" + readme[found.end() :]
    return readme


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=Path, default=RECORD)
    parser.add_argument("--write", type=Path, metavar="README", help="rewrite its blocks")
    args = parser.parse_args()
    texts = blocks(json.loads(args.record.read_text()))
    if args.write is None:
        print("\n\n".join(texts.values()))
        return
    before = args.write.read_text()
    after = rewrite(before, texts)
    if after != before:
        temporary = args.write.with_name(args.write.name + ".tmp")
        temporary.write_text(after)
        temporary.replace(args.write)
    print(f"{'rewrote' if after != before else 'unchanged:'} {args.write}")


if __name__ == "__main__":
    main()
