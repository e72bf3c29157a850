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
