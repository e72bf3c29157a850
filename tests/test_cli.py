"""The user-facing commands: validate, methods, schema."""

from __future__ import annotations

import json
from pathlib import Path

from methodlib.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_validate_accepts_the_shipped_pipelines(capsys):
    for path in [ROOT / "pipeline.yaml", *sorted((ROOT / "configs").glob("*.yaml"))]:
        assert main(["validate", str(path)]) == 0, path
        assert "valid" in capsys.readouterr().out


def test_validate_reports_the_bad_field_and_fails(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "datasets: {d: {source: digits}}\n"
        "experiments:\n  e: {dataset: d, model: lenet5, method: {name: dense, thresold: 3}}\n"
    )
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "experiments.e.method.thresold: unknown key" in err and str(bad) in err


def test_methods_lists_every_registered_method(capsys):
    from methodlib.methods import METHODS

    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for name in METHODS:
        assert name in out


def test_schema_is_json_schema_of_the_pipeline(tmp_path):
    out = tmp_path / "schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert {"datasets", "experiments", "sweeps", "reports"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
