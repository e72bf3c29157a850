"""A claim that names a selection is decided on the member the selection chose on validation,
and is `missing` until the selection has run; the study page shows every choice."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from methodlib.cli import main
from methodlib.report.claims import evaluate_claims, resolve_arms, write_claims
from methodlib.report.index import selection_line, write_index
from methodlib.spec import validate_pipeline
from tests.report.run_tables import run_table

LOW = [0.100, 0.101, 0.099, 0.102]
HIGH = [0.200, 0.202, 0.198, 0.201]


def raw() -> dict:
    experiment = {"study": "base", "dataset": "digits", "model": "lenet5"}
    return {
        "seeds": [0, 1, 2, 3],
        "datasets": {"digits": {"source": "digits", "limit": 200}},
        "studies": {"base": {}},
        "experiments": {
            name: {**experiment, "method": {"name": "dense"}, "training": {"lr": lr}}
            for name, lr in (("slow", 0.001), ("fast", 0.01), ("baseline", 0.003))
        },
        "selections": {
            "pick": {
                "study": "base",
                "members": ["slow", "fast"],
                "by": "val_nll",
                "better": "lower",
            }
        },
        "claims": {
            "tuned_beats_baseline": {
                "study": "base",
                "statement": "ours: the tuned network beats the baseline",
                "origin": "ours",
                "metrics": ["test_error"],
                "order": ["pick", "baseline"],
                "test": "welch",
            }
        },
    }


def pipeline():
    return validate_pipeline(raw())


def tidy(values: dict[str, list[float]]) -> pd.DataFrame:
    return run_table(values, "test_error", model="lenet5")


def record(chosen: str) -> dict:
    """A selection's record as `methodlib select` writes it (the parts the reports read)."""
    candidates = [
        {"experiment": e, "mean": m, "sd": 0.01, "n": 4, "seeds": [0, 1, 2, 3], "values": []}
        for e, m in (("slow", 0.31), ("fast", 0.25))
    ]
    return {
        "selection": "pick",
        "study": "base",
        "by": "val_nll",
        "better": "lower",
        "chosen": chosen,
        "tied": [],
        "tie_break": "first member in declaration order",
        "candidates": candidates,
    }


# the chosen member beats the baseline on the test split, the other member does not
RESULTS = tidy({"slow": HIGH, "fast": LOW, "baseline": [0.15, 0.151, 0.149, 0.152]})


@pytest.mark.parametrize(("chosen", "verdict"), [("fast", "holds"), ("slow", "contradicted")])
def test_a_claim_naming_a_selection_is_decided_on_its_chosen_member(chosen, verdict):
    (claim,) = evaluate_claims(pipeline(), RESULTS, selections={"pick": record(chosen)})
    assert claim["verdict"] == verdict
    assert claim["selections"] == {"pick": chosen}
    assert [a["arm"] for a in claim["arms"]] == [chosen, "baseline"]
    assert {(c["a"], c["b"]) for c in claim["comparisons"]} == {(chosen, "baseline")}


def test_a_claim_whose_selection_has_not_run_is_missing_and_says_why():
    (claim,) = evaluate_claims(pipeline(), RESULTS, selections={})
    assert claim["verdict"] == "missing"
    assert claim["reason"] == "selection pick has not run"
    assert claim["selections"] == {"pick": None}


def test_resolving_leaves_the_declared_claim_as_it_is():
    p = pipeline()
    declared = p.claims["tuned_beats_baseline"]
    resolved, chosen = resolve_arms(p, declared, {"pick": record("fast")})
    assert resolved.order == ["fast", "baseline"] and chosen == {"pick": "fast"}
    assert declared.order == ["pick", "baseline"]


def test_a_stale_record_naming_another_experiment_is_refused():
    from methodlib.errors import RunError

    with pytest.raises(RunError, match="rerun `methodlib select --selection pick`"):
        resolve_arms(pipeline(), pipeline().claims["tuned_beats_baseline"], {"pick": record("x")})


def test_the_claims_command_reads_the_selections_it_is_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("pipeline.yaml").write_text(json.dumps(raw()))  # JSON is YAML
    RESULTS.to_csv("metrics.csv", index=False)
    Path("pick.json").write_text(json.dumps(record("fast")))
    args = ["claims", "--pipeline", "pipeline.yaml", "--metrics", "metrics.csv"]
    assert main([*args, "--selections", "pick.json", "--out", "claims.json"]) == 0
    data = json.loads(Path("claims.json").read_text())
    assert data["claims"][0]["verdict"] == "holds" and "fast" in data["labels"]
    assert main([*args, "--selections", "--out", "none.json"]) == 0
    assert json.loads(Path("none.json").read_text())["claims"][0]["verdict"] == "missing"


def test_write_claims_labels_the_chosen_member(tmp_path):
    RESULTS.to_csv(tmp_path / "metrics.csv", index=False)
    data = write_claims(pipeline(), tmp_path / "metrics.csv", tmp_path / "c.json")
    assert "pick" not in data["labels"], "no label for a selection that has not run"
    data = write_claims(
        pipeline(),
        tmp_path / "metrics.csv",
        tmp_path / "c.json",
        selections={"pick": record("fast")},
    )
    assert set(data["labels"]) == {"fast", "baseline"}


def test_the_study_page_shows_each_choice_and_every_score(tmp_path):
    line = selection_line("pick", record("fast"))
    assert line.startswith("Selection pick: chose fast on val_nll (lower is better): ")
    assert "slow 0.3100 ± 0.0100 (n = 4), fast 0.2500 ± 0.0100 (n = 4)" in line
    assert selection_line("pick", None) == "Selection pick: has not run."
    tied = {**record("slow"), "tied": ["slow", "fast"]}
    assert "tied with fast (first member in declaration order)" in selection_line("pick", tied)
    RESULTS.to_csv(tmp_path / "metrics.csv", index=False)
    write_index(pipeline(), tmp_path / "metrics.csv", tmp_path / "index.md", None, {})
    assert "Selection pick: has not run." in (tmp_path / "index.md").read_text()
    write_index(
        pipeline(), tmp_path / "metrics.csv", tmp_path / "index.md", None, {"pick": record("fast")}
    )
    assert line in (tmp_path / "index.md").read_text()
