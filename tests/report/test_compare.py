"""`methodlib compare-reports`: a metric's shift in units of its seed spread (checked by hand),
every verdict that differs, rows on one side only, and both sides read from git commits or
a commit against the work tree, without a checkout."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from methodlib.cli import main
from methodlib.errors import RunError
from methodlib.report.compare import compare_reports, markdown, read_reports_dir, read_sides
from methodlib.report.tables import COLUMNS

ROOT = Path(__file__).resolve().parents[2]


def _rows(experiment: str, metric: str, values: list[float], seeds=None) -> list[dict]:
    seeds = seeds if seeds is not None else range(len(values))
    return [
        {
            "experiment": experiment,
            "method": "dense",
            "dataset": "digits",
            "model": "mlp",
            "seed": str(seed),
            "samples": 1,
            "metric": metric,
            "value": value,
        }
        for seed, value in zip(seeds, values, strict=True)
    ]


def _claim(name: str, verdict: str, effect: float, p: float) -> dict:
    comparison = {"metric": "test_accuracy", "a": "wide", "b": "narrow", "test": "welch"}
    comparison |= {"effect": effect, "p_value": p, "n_a": 3, "n_b": 3, "passed": p < 0.05}
    return {"name": name, "study": "s", "verdict": verdict, "comparisons": [comparison]}


def _write(folder: Path, rows: list[dict], claims: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=COLUMNS).to_csv(folder / "metrics.csv", index=False)
    (folder / "claims.json").write_text(json.dumps({"claims": claims, "labels": {}}))
    return folder


BASE_ROWS = [
    *_rows("wide", "test_accuracy", [0.90, 0.92, 0.94]),
    *_rows("wide", "test_nll", [0.0, 2.0]),
    *_rows("narrow", "params", [5.0, 5.0, 5.0]),
    *_rows("narrow", "test_accuracy", [1.0, 2.0, 3.0]),
    *_rows("narrow", "train_seconds", [10.0, 11.0, 12.0]),
    *_rows("narrow", "test_accuracy", [0.5], seeds=["all"]),  # the deep ensemble
    *_rows("narrow", "curve_test_accuracy", [0.4, 0.45]),
]
BASE_CLAIMS = [
    _claim("wide_beats_narrow", "not shown", 0.01, 0.20),
    _claim("kept", "holds", 1, 0.01),
]


def _compare(tmp_path: Path, rows_b: list[dict], claims_b: list[dict]) -> dict:
    a = _write(tmp_path / "a", BASE_ROWS, BASE_CLAIMS)
    b = _write(tmp_path / "b", rows_b, claims_b)
    return compare_reports(read_reports_dir(a), read_reports_dir(b))


def _row(result: dict, experiment: str, metric: str) -> dict:
    (row,) = [
        r
        for r in result["metrics"]["rows"]
        if (r["experiment"], r["metric"]) == (experiment, metric)
    ]
    return row


def test_identical_reports_are_identical_and_keep_every_verdict(tmp_path):
    result = _compare(tmp_path, BASE_ROWS, BASE_CLAIMS)
    summary = result["metrics"]["summary"]
    assert summary["compared"] == 4  # train_seconds is a timing, counted apart
    assert summary["identical"] == 4 and summary["flagged"] == 0
    assert summary["timings"]["rows"] == 1 and summary["timings"]["ratio_median"] == 1.0
    assert all(r["status"] == "identical" and r["z"] == 0 for r in result["metrics"]["rows"])
    assert result["claims"] == {"compared": 2, "changed": [], "added": [], "removed": []}
    # the deep ensemble's row and the curve's points are left out, and counted
    assert result["metrics"]["left_out"]["a"] == {"ensemble rows": 1, "curve points": 2}
    text = markdown(result)
    assert "4 identical" in text and "0 flagged" in text and "2 same verdict, 0 changed" in text


def test_a_shift_is_read_in_units_of_the_pooled_seed_spread(tmp_path):
    rows = [r for r in BASE_ROWS if (r["experiment"], r["metric"]) != ("wide", "test_nll")]
    rows += _rows("wide", "test_nll", [3.0, 5.0, 7.0])  # A: 0, 2
    rows = [r for r in rows if (r["experiment"], r["metric"]) != ("narrow", "test_accuracy")]
    rows += _rows("narrow", "test_accuracy", [1.5, 2.5, 3.5])  # A: 1, 2, 3
    result = _compare(tmp_path, rows, BASE_CLAIMS)

    # by hand: mean A 1, mean B 5, shift 4; s_A² = 2 (n 2), s_B² = 4 (n 3);
    # pooled variance (1·2 + 2·4) / 3 = 10/3, sd 1.8257, z = 4 / 1.8257 = 2.1909
    nll = _row(result, "wide", "test_nll")
    assert (nll["n_a"], nll["n_b"], nll["mean_a"], nll["mean_b"]) == (2, 3, 1.0, 5.0)
    assert nll["shift"] == pytest.approx(4.0)
    assert nll["sd"] == pytest.approx(math.sqrt(10 / 3))
    assert nll["z"] == pytest.approx(2.19089, abs=1e-5)
    assert nll["status"] == "beyond 2 sd" and nll["flagged"]
    # both sides sd 1: a shift of 0.5 is half a seed spread
    acc = _row(result, "narrow", "test_accuracy")
    assert acc["z"] == pytest.approx(0.5) and acc["status"] == "within 1 sd"
    assert not acc["flagged"]
    summary = result["metrics"]["summary"]
    assert (summary["identical"], summary["within 1 sd"], summary["beyond 2 sd"]) == (2, 1, 1)
    assert summary["flagged"] == 1
    # the flagged row leads the table; the rest is counted; a higher threshold flags nothing
    text = markdown(result)
    assert text.index("test_nll") < text.index("… and 4 more rows (0 flagged) not shown")
    assert "+2.19" in text
    a, b = tmp_path / "a", tmp_path / "b"
    loose = compare_reports(read_reports_dir(a), read_reports_dir(b), threshold=2.5)
    assert loose["metrics"]["summary"]["flagged"] == 0


def test_a_deterministic_number_that_moves_is_an_exact_change(tmp_path):
    rows = [r for r in BASE_ROWS if r["metric"] != "params"] + _rows("narrow", "params", [6.0] * 3)
    result = _compare(tmp_path, rows, BASE_CLAIMS)
    row = _row(result, "narrow", "params")
    assert row["status"] == "exact change" and row["flagged"]
    assert row["sd"] == 0 and row["z"] is None  # infinite in JSON terms
    assert "⚑ exact change" in markdown(result)


def test_a_timing_is_compared_but_never_flagged(tmp_path):
    rows = [r for r in BASE_ROWS if r["metric"] != "train_seconds"]
    rows += _rows("narrow", "train_seconds", [20.0, 22.0, 24.0])
    result = _compare(tmp_path, rows, BASE_CLAIMS)
    row = _row(result, "narrow", "train_seconds")
    # pooled variance (2·1 + 2·4) / 4 = 2.5: z = 11 / 1.581 = 6.96, far beyond, not flagged
    assert row["clock"] and row["z"] == pytest.approx(11 / math.sqrt(2.5)) and not row["flagged"]
    assert result["metrics"]["summary"]["timings"]["ratio_median"] == pytest.approx(2.0)
    assert "mean B / mean A 2" in markdown(result)


def test_a_verdict_that_flips_is_listed_with_its_effects_and_p_values(tmp_path):
    claims = [_claim("wide_beats_narrow", "holds", 0.03, 0.004), BASE_CLAIMS[1]]
    result = _compare(tmp_path, BASE_ROWS, claims)
    (changed,) = result["claims"]["changed"]
    assert (changed["name"], changed["verdict_a"], changed["verdict_b"]) == (
        "wide_beats_narrow",
        "not shown",
        "holds",
    )
    (comparison,) = changed["comparisons"]
    assert comparison["comparison"] == "test_accuracy: wide vs narrow"
    assert (comparison["p_value_A"], comparison["p_value_B"]) == (0.20, 0.004)
    assert (comparison["effect_A"], comparison["effect_B"]) == (0.01, 0.03)
    text = markdown(result)
    assert "s/wide_beats_narrow" in text and "not shown → holds" in text
    assert "0.2 → 0.004" in text and "1 same verdict, 1 changed" in text


def test_rows_and_claims_on_one_side_only_are_added_or_removed(tmp_path):
    rows = [r for r in BASE_ROWS if r["metric"] != "test_nll"] + _rows("deep", "dee", [2.0, 3.0])
    claims = [BASE_CLAIMS[0], _claim("new", "holds", 1, 0.01)]
    result = _compare(tmp_path, rows, claims)
    assert result["metrics"]["added"] == [{"experiment": "deep", "metric": "dee"}]
    assert result["metrics"]["removed"] == [{"experiment": "wide", "metric": "test_nll"}]
    assert result["claims"]["added"] == ["s/new"] and result["claims"]["removed"] == ["s/kept"]
    text = markdown(result)
    assert "1 added (only in B): deep/dee" in text
    assert "1 removed (only in A): wide/test_nll" in text
    assert "Claims only in A: s/kept" in text


def test_a_changed_number_with_one_seed_has_no_spread_to_scale_by(tmp_path):
    a = _write(tmp_path / "a", _rows("solo", "test_accuracy", [0.5]), [])
    b = _write(tmp_path / "b", _rows("solo", "test_accuracy", [0.6]), [])
    result = compare_reports(read_reports_dir(a), read_reports_dir(b))
    (row,) = result["metrics"]["rows"]
    assert row["status"] == "no spread" and row["sd"] is None and row["flagged"]


def test_a_missing_file_is_named(tmp_path):
    folder = _write(tmp_path / "a", BASE_ROWS, BASE_CLAIMS)
    (folder / "claims.json").unlink()
    with pytest.raises(RunError, match=r"a/claims\.json does not exist"):
        read_reports_dir(folder)
    with pytest.raises(RunError, match="no such reports folder"):
        read_reports_dir(tmp_path / "nowhere")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A repository with two commits of reports/: the second flips a verdict."""
    _git(tmp_path, "init", "-q")
    _write(tmp_path / "reports", BASE_ROWS, BASE_CLAIMS)
    _git(tmp_path, "add", "reports")
    _git(tmp_path, "commit", "-q", "-m", "published")
    flipped = [_claim("wide_beats_narrow", "holds", 0.03, 0.004), BASE_CLAIMS[1]]
    _write(tmp_path / "reports", BASE_ROWS, flipped)
    _git(tmp_path, "commit", "-q", "-am", "regenerated")
    return tmp_path


def test_two_commits_are_read_without_a_checkout(repo):
    a, b = read_sides(["HEAD"], git="HEAD~1", repo=repo)
    assert a.label.startswith("HEAD~1 (") and a.label.endswith("):reports")
    result = compare_reports(a, b)
    assert result["metrics"]["summary"]["identical"] == 4
    assert [c["verdict_b"] for c in result["claims"]["changed"]] == ["holds"]
    assert _git(repo, "status", "--porcelain") == ""


def test_the_committed_reports_against_the_work_tree(repo, tmp_path_factory, monkeypatch, capsys):
    rows = [r for r in BASE_ROWS if r["metric"] != "params"] + _rows("narrow", "params", [7.0] * 3)
    _write(repo / "reports", rows, BASE_CLAIMS)  # a regeneration, not committed
    monkeypatch.chdir(repo)
    assert main(["compare-reports", "--git", "HEAD", "reports/", "--json", "out.json"]) == 0
    out = capsys.readouterr().out
    assert "narrow" in out and "⚑ exact change" in out and "holds → not shown" in out
    saved = json.loads((repo / "out.json").read_text())
    assert saved["b"] == "reports" and saved["metrics"]["summary"]["exact change"] == 1
    # a folder outside the repository is compared with the commit's reports/; a typo is named
    elsewhere = _write(tmp_path_factory.mktemp("regenerated"), rows, BASE_CLAIMS)
    assert main(["compare-reports", "--git", "HEAD", str(elsewhere)]) == 0
    assert "HEAD (" in capsys.readouterr().out
    assert main(["compare-reports", "--git", "HEAD", "reprots"]) == 1
    assert "reprots: neither a reports folder nor a commit" in capsys.readouterr().err


def test_a_commit_without_reports_is_named(repo):
    with pytest.raises(RunError, match=r"elsewhere/metrics\.csv of commit HEAD cannot be read"):
        read_sides(["HEAD~1"], git="HEAD", in_commit="elsewhere", repo=repo)
    with pytest.raises(RunError, match="a commit, not a folder; read a commit with --git HEAD"):
        read_sides(["HEAD", str(repo / "reports")], repo=repo)


def test_the_comparison_needs_no_torch():
    code = "import sys, methodlib.report.compare; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "False"


def test_a_deep_ensemble_equivalent_point_is_matched_by_its_number_of_samples(tmp_path):
    def dee(verdict: str, p: float) -> dict:
        point = {"metric": "dee", "a": "mc_dropout", "samples": 2, "test": "one_sample"}
        point |= {"effect": -0.5, "p_value": p, "n_a": 3, "n_b": 1, "passed": p < 0.05}
        return {"name": "dee_below", "study": "s", "verdict": verdict, "comparisons": [point]}

    a = _write(tmp_path / "a", BASE_ROWS, [dee("not shown", 0.2)])
    b = _write(tmp_path / "b", BASE_ROWS, [dee("holds", 0.01)])
    (changed,) = compare_reports(read_reports_dir(a), read_reports_dir(b))["claims"]["changed"]
    (comparison,) = changed["comparisons"]
    assert comparison["comparison"] == "dee: mc_dropout vs 2"
    assert (comparison["p_value_A"], comparison["p_value_B"]) == (0.2, 0.01)
