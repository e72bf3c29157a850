"""How one record of `claims.json` reads: its registration state, its verdict's words and the
sign its comparisons claim. The claims page and the forest plot both read the record through
these, so that the two never disagree, and both accept records written before the
registration protocol (no `registration`, `basis`, `direction`, ...): a field that is absent
reads as not recorded, never as a guess at what it would have said."""

from __future__ import annotations

from typing import Any

from methodlib.report.metric_registry import metric_info

VERDICTS = ("holds", "contradicted", "not shown", "underpowered", "undecided", "missing")
"""Every verdict of the contract, in the order the page counts them."""
STATES = ("registered", "amended after results", "exploratory")
"""How a claim stands against `claims.lock`, as the page shows it."""
NOT_RECORDED = "not recorded"
"""A record that predates the field in question."""


def shown_state(record: dict[str, Any]) -> str | None:
    """`exploratory` when the claim is not registered or was decided on pilot seeds (a pilot
    has been seen, so it cannot confirm anything), else the lock's state; None when the
    record carries neither field."""
    state = (record.get("registration") or {}).get("state")
    if state == "exploratory" or record.get("basis") == "pilot":
        return "exploratory"
    return state


STANDINGS = (
    "confirmatory",
    "amended after results",
    "pilot of a registered design",
    "not registered",
)
"""What a verdict stands on, the rows of the page's summary: the registered design decided on
its confirmatory seeds, a design amended after results, a registered design whose confirmatory
runs have not run yet (decided on its pilot: exploratory), or no registration (exploratory)."""


def standing(record: dict[str, Any]) -> str:
    """The record's row among `STANDINGS`; `NOT_RECORDED` for a record without registration."""
    state = (record.get("registration") or {}).get("state")
    if state is None:
        return NOT_RECORDED
    if state == "exploratory":
        return "not registered"
    if state == "amended after results":
        return state
    return "confirmatory" if record.get("basis") == "confirmatory" else STANDINGS[2]


def verdict_words(record: dict[str, Any]) -> str:
    """ "holds", "exploratory · holds", "underpowered (needs n ≈ 12)"."""
    words = record["verdict"]
    if words == "underpowered" and record.get("needed_n"):
        words = f"underpowered (needs n ≈ {record['needed_n']})"
    elif words == "underpowered" and "needed_n" in record:
        # no n ≤ 1000 reaches 80 % power: the pilot's effect is against the claim (no target)
        # or too small for any affordable design
        words = "underpowered (no n ≤ 1000 plannable)"
    return ("exploratory · " if shown_state(record) == "exploratory" else "") + words


def origin(record: dict[str, Any]) -> str:
    """ "paper" (a claim the paper makes) or "ours" (an extension); `NOT_RECORDED` before."""
    return record.get("origin") or NOT_RECORDED


def claimed_direction(comparison: dict[str, Any]) -> str:
    """ "lower" or "higher" (the sign of a − b the claim asserts) or "equivalent" (TOST). A
    record without `direction` says it by its test: TOST is an equivalence, a DEE point
    claims DEE(k) − k < 0, any other comparison claims a beats b on its metric."""
    if comparison.get("direction"):
        return comparison["direction"]
    if comparison.get("test") == "tost" or "margin" in comparison:
        return "equivalent"
    if "samples" in comparison:
        return "lower"
    return metric_info(comparison["metric"]).better or "higher"


def claimed_sign(comparison: dict[str, Any]) -> float:
    """−1 where the claim asserts a − b < 0: multiplying by it puts the claim's side right."""
    return -1.0 if claimed_direction(comparison) == "lower" else 1.0
