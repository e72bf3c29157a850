"""End to end: the real `snakemake` on configs/text_tiny.yaml in a temporary copy of the
project: 240 fortunes are cleaned, tokenised and split, the judge language model is trained once
for the dataset, TEncDM, its embedding-space baseline and the autoregressive LM train as text
runs, and their text metrics (MAUVE with MiniLM features, judge perplexity, diversity,
memorisation) land in the tidy table, with sample tables and the steps figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from methodlib.data.text import FORTUNES_DIR
from tests.project_copy import TIDY_COLUMNS, sh
from tests.workflow.conftest import metric

CONFIG = "configs/text_tiny.yaml"
EXPERIMENTS = ("tencdm", "embedding_diffusion", "ar_lm")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(FORTUNES_DIR).is_dir(), reason="apt-get install fortunes"),
]


@pytest.fixture(scope="module")
def project(run_workflow) -> Path:
    return run_workflow(CONFIG, cores=2)


def test_text_metrics_are_tidy_rows(table):
    assert list(table.columns) == TIDY_COLUMNS
    for experiment in EXPERIMENTS:
        for name in ("mauve", "distinct_2", "self_bleu", "memorization", "mean_length"):
            [value] = metric(table, experiment, name)
            assert 0 <= value <= (1 if name != "mean_length" else 16), (experiment, name)
        [ppl] = metric(table, experiment, "judge_ppl")
        [reference] = metric(table, experiment, "judge_ppl_reference")
        assert ppl > 1 and reference > 1
    # the fewer-step samplers of TEncDM are scored like the main one
    assert len(metric(table, "tencdm", "mauve_steps_2")) == 1


def test_outputs_judge_and_reports(project, paths):
    with np.load(project / paths.run_dir("tencdm", 0) / "predictions.npz") as data:
        assert data["sample_ids"].shape == (16, 16) and len(data["samples"]) == 16
        assert data["samples_steps_2"].shape == (16,)
        assert data["reference"].dtype.kind == "U"
    assert (project / paths.judge("quotes")).is_file()
    for experiment in EXPERIMENTS:
        table = (project / paths.report(f"samples/{experiment}.md")).read_text()
        assert table.count("\n|") > 10, experiment
    assert (project / paths.report("figures/text/mauve_steps.png")).stat().st_size > 5_000
    index = (project / paths.index()).read_text()
    assert "mauve" in index and "samples/tencdm.md" in index


def test_lint_is_clean(project):
    sh("snakemake", "--cores", "1", "--configfile", CONFIG, "--lint", cwd=project)
