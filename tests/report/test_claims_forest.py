"""The claims at a glance: the forest plot draws one row per comparison, turned to the claim's
side and scaled by its reference, coloured by verdict; the page opens with it, counts the
verdicts by registration and origin, and shows every field of the claims.json contract (and
"—" for a record written before them)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from matplotlib.colors import to_hex

from methodlib.report import claims_forest
from methodlib.report.claim_display import standing, verdict_words
from methodlib.report.claims_forest import (
    VERDICT_COLOURS,
    draw_claims_forest,
    forest_rows,
    plot_claims_forest,
)
from methodlib.report.claims_page import claims_table, write_claims_page

REGISTERED = {"state": "registered", "registered": "2025-01-10", "commit": "abc1234"}


def arm(name: str, metric: str, mean: float, sd: float | None, n: int = 3) -> dict:
    return {"arm": name, "metrics": {metric: {"mean": mean, "sd": sd, "n": n, "seeds": []}}}


def comparison(metric: str, a, b, effect: float, low: float, high: float, **fields) -> dict:
    return {
        "metric": metric,
        "a": a,
        "b": b,
        "test": "welch",
        "effect": effect,
        "ci_low": low,
        "ci_high": high,
        "ci_level": 0.9,
        "p_value": 0.01,
        "n_a": 3,
        "n_b": 3,
        "passed": True,
        "exact": False,
        **fields,
    }


def claim(name: str, study: str, verdict: str, arms: list, comparisons: list, **fields) -> dict:
    return {
        "name": name,
        "study": study,
        "statement": f"the statement of {name}",
        "paper": "Someone 2020, Table 1",
        "paper_value": "",
        "origin": "paper",
        "metrics": sorted({c["metric"] for c in comparisons}),
        "test": "welch",
        "alpha": 0.05,
        "looks": 1,
        "alpha_used": 0.05,
        "basis": "confirmatory",
        "verdict": verdict,
        "needed_n": None,
        "registration": {**REGISTERED, "amendments": []},
        "arms": arms,
        "comparisons": comparisons,
        "excluded": [],
        **fields,
    }


def power(n: int, mde: float, target: float, kind: str, needed: int) -> dict:
    return {
        "n": n,
        "mde": mde,
        "target": target,
        "target_kind": kind,
        "needed_n": needed,
        "power_at_n": 0.5,
    }


def full_claims() -> dict:
    """Every verdict, registration state and comparison kind of the contract."""
    error = "test_error"
    return {
        "metrics": "metrics.csv",
        "labels": {"vd": "Sparse VD", "dense": "Dense", "ens": "Deep ensemble"},
        "claims": [
            # lower is claimed: a − b = −0.02 with sd 0.01 reads +2 (right)
            claim(
                "vd_beats_dense",
                "pruning",
                "holds",
                [arm("vd", error, 0.05, 0.01), arm("dense", error, 0.07, 0.01)],
                [
                    comparison(
                        error,
                        "vd",
                        "dense",
                        -0.02,
                        -0.03,
                        -0.01,
                        direction="lower",
                        power=power(3, 0.015, 0.02, "effect_of_interest", 3),
                    )
                ],
            ),
            # non-inferiority within 0.01, exploratory: decided on pilot seeds
            claim(
                "vd_keeps_accuracy",
                "pruning",
                "holds",
                [arm("vd", error, 0.071, 0.002), arm("dense", error, 0.07, 0.002)],
                [
                    comparison(
                        error,
                        "vd",
                        "dense",
                        0.001,
                        -0.002,
                        0.004,
                        direction="lower",
                        tolerance=0.01,
                    )
                ],
                basis="pilot",
                registration={
                    "state": "exploratory",
                    "registered": None,
                    "commit": None,
                    "amendments": [],
                },
            ),
            # equivalence, amended after its results were seen
            claim(
                "ens_matches_dense",
                "ensembles",
                "not shown",
                [arm("ens", "test_nll", 0.3, 0.05), arm("dense", "test_nll", 0.31, 0.05)],
                [
                    comparison(
                        "test_nll",
                        "ens",
                        "dense",
                        -0.01,
                        -0.06,
                        0.04,
                        test="tost",
                        direction="equivalent",
                        margin=0.03,
                        passed=False,
                        p_value=0.3,
                    )
                ],
                registration={
                    **REGISTERED,
                    "state": "amended after results",
                    "amendments": [
                        {
                            "date": "2025-02-01",
                            "commit": "def5678",
                            "reason": "the paper states the margin in Table 2",
                            "changed": ["margin"],
                        }
                    ],
                },
            ),
            # underpowered: not shown, and these seeds could not have seen it
            claim(
                "ens_beats_dense",
                "ensembles",
                "underpowered",
                [arm("ens", "test_nll", 0.3, 0.05), arm("dense", "test_nll", 0.31, 0.05)],
                [
                    comparison(
                        "test_nll",
                        "ens",
                        "dense",
                        -0.01,
                        -0.06,
                        0.04,
                        direction="lower",
                        passed=False,
                        p_value=0.35,
                        power=power(3, 0.09, 0.02, "effect_of_interest", 12),
                    )
                ],
                needed_n=12,
                looks=2,
                alpha_used=0.025,
            ),
            # exact: no spread, against a threshold; ours, contradicted
            claim(
                "vd_compresses_20x",
                "pruning",
                "contradicted",
                [arm("vd", "compression", 15.0, 0.0)],
                [
                    comparison(
                        "compression",
                        "vd",
                        20.0,
                        -5.0,
                        -5.0,
                        -5.0,
                        test="one_sample",
                        direction="higher",
                        threshold=20.0,
                        exact=True,
                        p_value=1.0,
                        passed=False,
                        n_b=1,
                    )
                ],
                origin="ours",
            ),
            claim("not_run", "ensembles", "missing", [], []),
        ],
    }


def old_claims() -> dict:
    """The same claims as a claims.json written before the registration protocol."""
    data = full_claims()
    for record in data["claims"]:
        for key in ("origin", "looks", "alpha_used", "basis", "needed_n", "registration"):
            record.pop(key)
        if record["verdict"] == "underpowered":
            record["verdict"] = "not shown"
        for c in record["comparisons"]:
            for key in ("exact", "direction", "threshold", "power"):
                c.pop(key, None)
    return data


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_figure_draws_one_row_per_comparison(tmp_path):
    data = full_claims()
    out = tmp_path / "figures" / "claims_forest.png"
    rows = plot_claims_forest(write(tmp_path, data), out)
    assert out.exists() and out.stat().st_size > 10_000
    comparisons = sum(len(r["comparisons"]) for r in data["claims"])
    no_comparison = sum(not r["comparisons"] for r in data["claims"])
    assert len(rows) == comparisons + no_comparison
    assert [r.claim for r in rows if r.effect is None] == ["not_run"]


def test_rows_are_grouped_by_study():
    rows = forest_rows(full_claims())
    assert [r.study for r in rows] == ["pruning"] * 3 + ["ensembles"] * 3
    assert [r.first for r in rows] == [True] * 6


def test_a_claimed_negative_difference_reads_right():
    rows = {r.claim: r for r in forest_rows(full_claims())}
    beats = rows["vd_beats_dense"]  # a − b = −0.02, lower claimed, pooled sd 0.01
    assert beats.effect == pytest.approx(2.0) and beats.reference == "sd"
    assert (beats.low, beats.high) == (pytest.approx(1.0), pytest.approx(3.0))
    keeps = rows["vd_keeps_accuracy"]  # 0.001 worse within a tolerance of 0.01
    assert keeps.effect == pytest.approx(-0.1) and keeps.reference == "tolerance"
    assert keeps.kind == "non-inferiority" and keeps.low == pytest.approx(-0.4)
    equal = rows["ens_matches_dense"]  # equivalence: not turned, scaled by the margin
    assert equal.kind == "equivalence" and equal.effect == pytest.approx(-1 / 3)


def test_the_direction_of_an_old_record_comes_from_its_metric():
    new = {r.claim: r.effect for r in forest_rows(full_claims())}
    old = {r.claim: r.effect for r in forest_rows(old_claims())}
    assert old == new


def test_an_exact_row_is_a_point_without_interval():
    row = next(r for r in forest_rows(full_claims()) if r.claim == "vd_compresses_20x")
    assert row.exact and row.low is None and row.high is None
    assert row.effect == -float("inf")  # 5 below the threshold, over an sd of 0


def test_each_verdict_has_its_colour_and_the_rows_wear_it():
    assert len(set(VERDICT_COLOURS[v] for v in ("holds", "contradicted", "not shown"))) == 3
    assert VERDICT_COLOURS["underpowered"] not in {
        VERDICT_COLOURS[v] for v in ("holds", "contradicted", "not shown", "undecided")
    }
    fig, rows = draw_claims_forest(full_claims())
    ax = fig.axes[0]
    drawn = {to_hex(line.get_color()) for line in ax.lines}
    for verdict in ("holds", "contradicted", "not shown", "underpowered"):
        assert VERDICT_COLOURS[verdict].lower() in drawn, verdict
    hollow = [line for line in ax.lines if line.get_markerfacecolor() == "white"]
    assert hollow, "the exploratory claim's marker is hollow"
    texts = [t.get_text() for t in ax.texts]
    assert "exploratory · holds" in texts and "underpowered (needs n ≈ 12)" in texts


def test_a_hundred_rows_stay_apart(tmp_path):
    data = full_claims()
    data["claims"] = [
        {**copy.deepcopy(data["claims"][0]), "name": f"c{i}", "study": f"s{i // 10}"}
        for i in range(100)
    ]
    fig, rows = draw_claims_forest(data)
    assert len(rows) == 100
    inches_per_row = fig.get_figheight() / (100 + 10)
    assert inches_per_row >= claims_forest.ROW_INCHES * 0.9


def page(tmp_path: Path, data: dict) -> tuple[str, str]:
    out = tmp_path / "claims.md"
    forest = tmp_path / "figures" / "claims_forest.png"
    plot_claims_forest(write(tmp_path, data), forest)
    text = write_claims_page(tmp_path / "claims.json", out, tmp_path / "claims.html", forest)
    return text, (tmp_path / "claims.html").read_text(encoding="utf-8")


def test_the_page_opens_with_the_forest_and_counts_by_registration(tmp_path):
    text, html = page(tmp_path, full_claims())
    assert text.index("](figures/claims_forest.png)") < text.index("| claim |")
    assert '<img src="data:image/png;base64,' in html
    assert "**Paper claims**" in text and "**Ours (extensions)**" in text
    assert "| not registered | 1 |" in text and "| amended after results |" in text
    assert "| confirmatory | 1 | 0 | 0 | 1 | 1 | 3 |" in text
    # registered paper claims: vd_beats_dense (holds), ens_matches_dense (not shown, amended),
    # ens_beats_dense (underpowered), not_run (missing)
    assert "5 paper claims, 4 are registered in `claims.lock`; 4 stand on their" in text
    assert "and 2 of those are decided (holds, contradicted) or not shown at adequate" in text


def test_the_page_shows_every_field_of_the_contract(tmp_path):
    text, html = page(tmp_path, full_claims())
    assert "✅ exploratory · holds" in text
    assert "underpowered (needs n ≈ 12)" in text
    assert "2 looks: each at α = 0.025" in text
    assert "one-sample t (one-sided) exact" in text and "p = 1.0000" not in text
    assert "MDE 0.0900 at n = 3; effect of interest 0.0200 needs n ≈ 12" in text
    assert "amended 2025-02-01 (def5678): margin: the paper states the margin in Table 2" in text
    assert "registered 2025-01-10 (abc1234)" in text
    assert "ours (not in the paper)" in text
    assert "exploratory · holds" in html and "the paper states the margin" in html


def test_a_record_without_the_new_fields_reads_dashes(tmp_path):
    text, _ = page(tmp_path, old_claims())
    assert "exploratory" not in claims_table(old_claims()["claims"], {})
    assert "Registration: —" in text and "| not recorded |" in text
    table = claims_table(old_claims()["claims"], {})
    assert "MDE" not in table and "looks:" not in table and "exact" not in table
    assert "| — |" in table, "no registration column entry is guessed"


def test_a_registered_design_decided_on_its_pilot_is_exploratory():
    record = {"verdict": "holds", "basis": "pilot", "registration": {"state": "registered"}}
    assert standing(record) == "pilot of a registered design"
    assert verdict_words(record) == "exploratory · holds"
    confirmed = {**record, "basis": "confirmatory"}
    assert standing(confirmed) == "confirmatory" and verdict_words(confirmed) == "holds"
    assert standing({**record, "registration": {"state": "exploratory"}}) == "not registered"
