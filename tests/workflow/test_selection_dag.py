"""No test-split output reaches a selection: the DAG that the real `snakemake` plans for
configs/tiny.yaml (a dry run: nothing trains) gives `select_member` its members' training logs
and nothing else, and the claims and the study page read the choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project_copy import copy_project, sh
from tests.workflow.conftest import layout

CONFIG = "configs/tiny.yaml"


def planned_inputs(project: Path) -> dict[str, list[list[str]]]:
    """rule → the inputs of each of its planned jobs, from a dry run's job listing."""
    out = sh("snakemake", "--dry-run", "--cores", "1", "--configfile", CONFIG, cwd=project)
    jobs: dict[str, list[list[str]]] = {}
    rule = None
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
            jobs.setdefault(rule, []).append([])
        elif line.startswith("input:") and rule:
            jobs[rule][-1] = [p.strip() for p in line.removeprefix("input:").split(",")]
    return jobs


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("selection_dag"))


def test_a_selection_reads_only_its_members_training_logs(project):
    paths = layout(project, CONFIG)
    assert paths.pipeline.selections, f"{CONFIG} declares a selection"
    jobs = planned_inputs(project)
    planned = jobs["select_member"]
    assert all(Path(path).name == "train_log.csv" for inputs in planned for path in inputs)
    expected = {
        tuple(f for m in spec.members for f in paths.run_files(m, "train_log.csv"))
        for spec in paths.pipeline.selections.values()
    }
    assert {tuple(inputs) for inputs in planned} == expected
    for rule in ("decide_claims", "write_index"):
        (inputs,) = jobs[rule]
        assert set(paths.selections()) <= set(inputs), rule
