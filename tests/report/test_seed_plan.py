"""`methodlib power STUDY` plans a claim's seeds from its pilot and never from its
confirmatory seeds: the plan does not move when only confirmatory values change, and a study
with nothing but confirmatory runs is refused."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from methodlib.cli import main
from methodlib.errors import RunError
from methodlib.report.seed_plan import plan_study, plan_table
from methodlib.spec import validate_pipeline
from tests.conftest import TINY_DATASET
from tests.report.test_claims import tidy

PILOT = {"exp": {"0": 0.100, "1": 0.104, "2": 0.099}, "other": {"0": 0.104, "1": 0.106, "2": 0.105}}
CONFIRMATORY = {"10": 0.5, "11": 0.1, "12": 0.9}


def raw() -> dict:
    experiment = {"dataset": "digits", "model": "lenet300_100", "method": {"name": "dense"}}
    return {
        "seeds": [0, 1, 2, 10, 11, 12],
        "datasets": {"digits": TINY_DATASET},
        "experiments": {"exp": experiment, "other": {**experiment, "model": "lenet5"}},
        "claims": {
            "c": {
                "statement": "exp beats other (ours: a test claim)",
                "origin": "ours",
                "metrics": ["test_calibrated_nll"],
                "order": ["exp", "other"],
                "seeds": [10, 11, 12],
            }
        },
    }


def with_confirmatory(values: dict[str, float]) -> pd.DataFrame:
    return tidy({arm: {**seeds, **values} for arm, seeds in PILOT.items()})


def test_the_plan_reads_the_pilot_and_never_the_confirmatory_seeds():
    pipeline = validate_pipeline(raw())
    pilot_only = plan_study(pipeline, "main", tidy(PILOT))
    wild = plan_study(pipeline, "main", with_confirmatory(CONFIRMATORY))
    calm = plan_study(pipeline, "main", with_confirmatory(dict.fromkeys(CONFIRMATORY, 0.1)))
    assert pilot_only == wild == calm
    (claim,) = pilot_only["claims"]
    assert claim["pilot_seeds"] == ["0", "1", "2"] and claim["confirmatory_seeds"] == [10, 11, 12]
    (comparison,) = claim["comparisons"]
    assert comparison["n"] == 3 and comparison["target_kind"] == "pilot effect"
    assert claim["needed_n"] == comparison["needed_n"] > 3
    table = plan_table(pilot_only)
    assert "pilot n" in table and "exp vs other" in table and str(claim["needed_n"]) in table


def test_only_confirmatory_runs_are_refused():
    only = tidy({arm: CONFIRMATORY for arm in PILOT})
    with pytest.raises(RunError, match="never from the confirmatory seeds"):
        plan_study(validate_pipeline(raw()), "main", only)


def test_the_command_prints_the_table_and_writes_the_json(tmp_path, capsys):
    pipeline_file, metrics = tmp_path / "p.yaml", tmp_path / "metrics.csv"
    pipeline_file.write_text(yaml.safe_dump(raw()))
    with_confirmatory(CONFIRMATORY).to_csv(metrics, index=False)
    out = tmp_path / "power" / "main.json"
    args = ["power", "main", "--pipeline", str(pipeline_file), "--metrics", str(metrics)]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    plan = json.loads(out.read_text())
    assert plan["study"] == "main" and plan["claims"][0]["pilot_seeds"] == ["0", "1", "2"]
    assert "claim (every comparison)" in printed and str(out) in printed
    assert main([*args[:1], "nope", *args[2:], "--out", str(out)]) == 1
    assert "study 'nope' is not in the pipeline file" in capsys.readouterr().err


def test_a_claim_naming_a_selection_is_planned_on_its_chosen_member():
    from tests.report.test_selections_in_reports import RESULTS, record
    from tests.report.test_selections_in_reports import pipeline as selection_pipeline

    plan = plan_study(selection_pipeline(), "base", RESULTS, selections={"pick": record("fast")})
    (claim,) = plan["claims"]
    assert claim["note"] is None and claim["pilot_seeds"] == ["0", "1", "2", "3"]
    assert {(c["a"], c["b"]) for c in claim["comparisons"]} == {("fast", "baseline")}
    unselected = plan_study(selection_pipeline(), "base", RESULTS, selections={})
    assert unselected["claims"][0]["note"] == "selection pick has not run"
