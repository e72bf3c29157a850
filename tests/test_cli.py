"""The user-facing commands: validate, methods, schema, and the default folders of prepare
and train."""

from __future__ import annotations

import json
from pathlib import Path

from methodlib.cli import main
from methodlib.paths import Layout
from methodlib.spec import load_pipeline

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


def test_prepare_and_train_default_to_the_layouts_folders(tmp_path, monkeypatch):
    """Without --out, --data and --init, the commands use `methodlib.paths.Layout`: the data
    under its config's hash, each run under its experiment's, `init_from` its source's run."""
    monkeypatch.chdir(tmp_path)
    Path("pipeline.yaml").write_text(
        "defaults: {device: cpu, training: {epochs: 1, batch_size: 64}}\n"
        "datasets: {digits: {source: digits, limit: 300}}\n"
        "experiments:\n"
        "  exp: {dataset: digits, model: lenet300_100, method: {name: dense}}\n"
        "  fine: {dataset: digits, model: lenet300_100, method: {name: dense}, init_from: exp}\n"
    )
    layout = Layout(load_pipeline("pipeline.yaml"))
    common = ["--pipeline", "pipeline.yaml"]
    assert main(["prepare", *common, "--dataset", "digits"]) == 0
    assert (Path(layout.prepared("digits")) / "meta.json").is_file()
    for experiment in ("exp", "fine"):
        assert main(["train", *common, "--experiment", experiment, "--seed", "0"]) == 0
        assert (Path(layout.run_dir(experiment, 0)) / "run.json").is_file(), experiment
