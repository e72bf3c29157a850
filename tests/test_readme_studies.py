"""The README states each default study's measured time beside its `study_<name>` target (from
benchmarks/default_pipeline.py), so a study added to pipeline.yaml without its time fails here."""

from __future__ import annotations

import re
from pathlib import Path

from methodlib.spec import load_pipeline

ROOT = Path(__file__).resolve().parent.parent


def test_every_default_study_has_its_time_in_the_readme():
    pipeline = load_pipeline(ROOT / "pipeline.yaml")
    readme = (ROOT / "README.md").read_text()
    rows = {
        match["study"]: match["row"]
        for match in re.finditer(r"(?m)^(?P<row>\|.*`[^`]*study_(?P<study>\w+)`.*\|)$", readme)
    }
    studies = [s for s in pipeline.study_names() if pipeline.experiments_in(s)]
    missing = [s for s in studies if s not in rows]
    assert not missing, f"README lists no study_<name> row for {missing}"
    untimed = [s for s in studies if not re.search(r"\d+(\.\d+)? (min|h|s)\b", rows[s])]
    assert not untimed, f"README rows without a measured time: {untimed}"


def test_the_fortunes_text_study_runs_from_its_own_config():
    """Issue 32: the TEncDM study on fortunes (34 min for 2 seeds of claims that need far more)
    is not in the two-hour default pipeline; its config under configs/ keeps it runnable, and
    each claim there that seeds can power names its confirmatory seeds among its arms' runs."""
    pipeline = load_pipeline(ROOT / "pipeline.yaml")
    fortunes = [n for n, d in pipeline.datasets.items() if d.source == "fortunes"]
    assert not fortunes and "text" not in pipeline.study_names()
    config = load_pipeline(ROOT / "configs" / "text_fortunes.yaml")
    assert config.experiments_in("text") and config.claims
    powered = [c for c in config.claims.values() if c.seeds]
    assert powered, "configs/text_fortunes.yaml states no claim's confirmatory seeds"
    for claim in powered:
        for arm in claim.arms():
            assert set(claim.seeds) <= set(config.seeds_of(arm)), arm
    assert "configs/text_fortunes.yaml" in (ROOT / "README.md").read_text()


def test_the_readme_time_table_is_the_timed_runs():
    """Issue 32: the README's time table quotes the one timed fresh-clone run
    (benchmarks/results/default_pipeline.json), every study of the default pipeline in it, as
    benchmarks/readme_times.py prints it: a table edited by hand, or a run of fewer studies,
    fails here."""
    import json
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from readme_tables import headline, pipeline_facts, time_table

    record = json.loads((ROOT / "benchmarks/results/default_pipeline.json").read_text())
    pipeline = load_pipeline(ROOT / "pipeline.yaml")
    studies = [s for s in pipeline.study_names() if pipeline.experiments_in(s)]
    assert record["pipeline"] == "pipeline.yaml" and record["in_place"]
    assert sorted(record["studies"]) == sorted(studies), "the timed run is not every study"
    assert record["seconds"] <= 7200, "the default pipeline took over two hours"
    readme = (ROOT / "README.md").read_text()
    titles, runs = pipeline_facts(ROOT / "pipeline.yaml")
    assert time_table(record, titles, runs) in readme
    assert headline(record) in readme


def test_the_readme_verdicts_are_the_published_claims_page():
    """The results section's counts are the claims page's, and its per-study verdict table is
    the published claims.json's (benchmarks/readme_tables.py prints both)."""
    import json
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from readme_tables import claims_summary, verdict_table

    readme = (ROOT / "README.md").read_text()
    summary = claims_summary((ROOT / "reports" / "claims.md").read_text())
    assert len(summary) == 2
    for line in summary:
        assert line in readme
    claims = json.loads((ROOT / "reports" / "claims.json").read_text())["claims"]
    assert verdict_table(claims) in readme


def test_the_readme_blocks_are_what_readme_tables_writes():
    """`python benchmarks/readme_tables.py --write README.md` after a published run changes
    nothing: every marked block is that run's, none edited by hand."""
    import json
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from readme_tables import blocks, rewrite

    record = json.loads((ROOT / "benchmarks/results/default_pipeline.json").read_text())
    readme = (ROOT / "README.md").read_text()
    assert rewrite(readme, blocks(record)) == readme


def test_rewrite_replaces_only_the_marked_blocks_and_refuses_a_missing_one():
    import sys

    import pytest

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from readme_tables import rewrite

    text = "intro\n<!-- readme_tables:a -->\nold\n<!-- /readme_tables:a -->\nrest \\1\n"
    assert rewrite(text, {"a": "new \\1"}) == text.replace("old", "new \\1")
    with pytest.raises(SystemExit, match="readme_tables:b"):
        rewrite(text, {"b": "x"})
