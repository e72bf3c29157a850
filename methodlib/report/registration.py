"""Registration of claims: `claims.lock`, the committed record of each claim's design.

A claim is confirmatory only if its design (what it compares, how, at which level and on which
seeds) was fixed before its confirmatory runs were seen. `methodlib register` writes each
claim's design, the design's hash, and the commit and date of registration into `claims.lock`
(YAML, sorted keys, one entry per claim name: it is read in review like any other file), and
`methodlib claims` compares every claim's current design with its entry:

- `registered`: the design is the registered one, and nothing changed after its results;
- `amended after results`: the design was changed (or first registered) while its arms had
  results at its confirmatory seeds; each such amendment carries the reason given to
  `methodlib register --amend "why"` and the fields it changed;
- `exploratory`: the claim is not in the lock, or its design differs from the locked one.

"Results" are tidy rows (reports/metrics.csv) of a claim's arms at its confirmatory seeds
(`ClaimSpec.seeds`); pilot seeds never count, so a claim without confirmatory seeds can always
be registered and amended. Seeds added after the earlier seeds had results are a further look
(`looks`), which the decision corrects for (Bonferroni over looks); seeds added before they
have run need no `--amend`, since adding them is the sequential design, not a change of it.

A lock entry whose claim left the pipeline is removed when its arms never had results at its
confirmatory seeds (a plan withdrawn before any evidence), and kept with a `dropped` stamp
otherwise (a registered claim with results that disappears is a fact the lock keeps).
"""

from __future__ import annotations

import datetime
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from methodlib.errors import RunError, closest
from methodlib.io import atomic_path
from methodlib.report.metric_registry import metric_info
from methodlib.report.tables import seed_members
from methodlib.spec import ClaimSpec, Pipeline, split_arm
from methodlib.spec import _hash as canonical_hash

HEADER = (
    "# claims.lock: each claim's registered design, written by `methodlib register` (see\n"
    "# docs/architecture.md, Registration). Commit it; do not edit it by hand.\n"
)
BEFORE_RESULTS = "before results"
KINDS = ("order", "equivalent", "below_samples")
_SEED_LIST = re.compile(r"\d+(\+\d+)*")  # a run's seed, or a disjoint ensemble's members


def claim_design(pipeline: Pipeline, claim: ClaimSpec) -> dict[str, Any]:
    """What a claim's registration fixes: everything that decides its verdict and what it
    says it shows, and nothing that only presents it (its name, study, descriptions). An arm
    stands for its experiment's config hash (a new config is a new design), a selection for
    its rule and its members' hashes, `exp@k` for the experiment's hash and k."""
    kind = next(k for k in KINDS if getattr(claim, k))
    return {
        "statement": claim.statement,
        "origin": claim.origin,
        "paper": claim.paper,
        "paper_value": claim.paper_value,
        "kind": kind,
        kind: list(getattr(claim, kind)),
        "arms": {arm: _arm_design(pipeline, arm) for arm in claim.arms()},
        "thresholds": [a for a in claim.order or [] if isinstance(a, float)],
        "metrics": list(claim.metrics),
        "directions": {m: metric_info(m).better for m in claim.metrics},
        "test": "bootstrap_dee" if claim.below_samples else claim.test,
        "tolerance": claim.tolerance,
        "margin": claim.margin,
        "effect_of_interest": claim.effect_of_interest,
        "alpha": claim.alpha,
        "seeds": sorted(claim.seeds),
        # only where a claim has them, so that the designs registered before the field hold
        **({"ensemble_seeds": sorted(claim.ensemble_seeds)} if claim.ensemble_seeds else {}),
    }


def _arm_design(pipeline: Pipeline, arm: str) -> dict[str, Any]:
    experiment, members = split_arm(arm)
    if experiment in pipeline.selections:
        selection = pipeline.selections[experiment]
        return {
            "selection": {
                "on": selection.by,  # the key predates `by:`; kept so registered hashes hold
                "better": selection.better,
                "members": {m: pipeline.experiment_hash(m) for m in selection.members},
            }
        }
    design = {"experiment": experiment, "hash": pipeline.experiment_hash(experiment)}
    return design if members is None else {**design, "members": members}


def design_hash(design: dict[str, Any]) -> str:
    """sha256 of the design's canonical JSON (sorted keys), 16 hex digits: the same digest as
    the config hashes of runs (`Pipeline.experiment_hash`)."""
    return canonical_hash(design)


def design_experiments(design: dict[str, Any]) -> list[str]:
    """The experiments whose runs a design reads (a selection reads all its members)."""
    names: list[str] = []
    for arm in design["arms"].values():
        names += list(arm["selection"]["members"]) if "selection" in arm else [arm["experiment"]]
    return list(dict.fromkeys(names))


def seen_seeds(tidy: pd.DataFrame, design: dict[str, Any]) -> list[int]:
    """The design's confirmatory seeds at which one of its arms has a row in the tidy table
    (a run at that seed, or a disjoint ensemble with a member at it): seeds whose results
    have been seen. Pilot seeds are not confirmatory and never count."""
    seeds = set(design["seeds"]) | set(design.get("ensemble_seeds", []))
    if not seeds or tidy.empty:
        return []
    rows = tidy[tidy["experiment"].isin(design_experiments(design))]
    found: set[int] = set()
    for seed in rows["seed"].astype(str).unique():
        if _SEED_LIST.fullmatch(seed):
            found |= set(seed_members(seed))
    return sorted(found & seeds)


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The design fields that differ; an arm whose config changed reads `arms.<arm>`."""
    changed = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        if key == "arms" and isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            a, b = old[key], new[key]
            changed += [
                f"arms.{arm}" for arm in sorted(set(a) | set(b)) if a.get(arm) != b.get(arm)
            ]
        else:
            changed.append(key)
    return changed


def read_lock(path: str | Path) -> dict[str, dict[str, Any]]:
    """The lock's entries by claim name; {} when the file does not exist (nothing registered)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise RunError(f"{path}: not readable YAML ({exc}); restore it from git") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a mapping of claim names to entries; restore it from git")
    for name, entry in data.items():
        if not isinstance(entry, dict) or not {"design", "hash"} <= set(entry):
            raise RunError(
                f"{path}: the entry {name!r} has no design and hash; restore the file from git "
                "(it is written by `methodlib register`, not by hand)"
            )
    return data


def lock_text(lock: dict[str, dict[str, Any]]) -> str:
    """The lock as written: the same entries give the same bytes (sorted keys, no dates of
    writing), so registering again without a change leaves the file as it is."""
    body = yaml.safe_dump(lock, sort_keys=True, allow_unicode=True, width=100) if lock else "{}\n"
    return HEADER + body


def write_lock(path: str | Path, lock: dict[str, dict[str, Any]]) -> bool:
    """Write the lock if its text changed; True when it did."""
    path, text = Path(path), lock_text(lock)
    if path.exists() and path.read_text() == text:
        return False
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return True


def git_stamp(directory: str | Path, exclude: str | Path | None = None) -> dict[str, Any]:
    """{commit, dirty, date}: HEAD of the git repository holding `directory`, whether its work
    tree differs from HEAD (ignoring `exclude`, the lock itself), and today's UTC date. Outside
    a repository the commit and dirty flag are None."""
    date = datetime.datetime.now(datetime.UTC).date().isoformat()
    directory = Path(directory)

    def git(*args: str) -> str | None:
        result = subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, text=True, check=False
        )
        return result.stdout if result.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "date": date}
    spec = ["--", ":/"] + ([f":(exclude){Path(exclude).resolve()}"] if exclude else [])
    status = git("status", "--porcelain", *spec)
    return {"commit": commit.strip(), "dirty": bool(status and status.strip()), "date": date}


class RegistrationRefused(RunError):
    """A registration over results that the user has not declared with `--amend`."""


def register(
    pipeline: Pipeline,
    lock: dict[str, dict[str, Any]],
    tidy: pd.DataFrame,
    stamp: dict[str, Any],
    names: Iterable[str] | None = None,
    amend: str | None = None,
    pipeline_file: str = "the pipeline file",
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The lock after registering `names` (default: every claim) and the lines that say what
    happened to each. Nothing is registered when any claim is refused: the error lists every
    refused claim with its changed fields and the command that declares the change."""
    names = list(names) if names is not None else list(pipeline.claims)
    unknown = [n for n in names if n not in pipeline.claims]
    if unknown:
        hint = closest(unknown[0], pipeline.claims)
        raise RunError(f"{pipeline_file}: no claim named {', '.join(unknown)}{hint}")
    lock = {name: dict(entry) for name, entry in lock.items()}
    lines, refusals = [], []
    for name in sorted(names):
        line, refusal = _register_one(pipeline, lock, tidy, stamp, name, amend, pipeline_file)
        lines.append(line)
        refusals += [refusal] if refusal else []
    if refusals:
        raise RegistrationRefused("\n".join(refusals))
    if set(names) == set(pipeline.claims):
        lines += _withdraw(pipeline, lock, tidy, stamp)
    return lock, lines


def _register_one(
    pipeline: Pipeline,
    lock: dict[str, dict[str, Any]],
    tidy: pd.DataFrame,
    stamp: dict[str, Any],
    name: str,
    amend: str | None,
    pipeline_file: str,
) -> tuple[str, str | None]:
    """(what happened, a refusal or None); updates `lock[name]` when it registers."""
    design = claim_design(pipeline, pipeline.claims[name])
    digest = design_hash(design)
    entry = lock.get(name)
    how_to = f'methodlib register --amend "why" {name}'
    if entry is None:
        seen = seen_seeds(tidy, design)
        if seen and amend is None:
            return "", (
                f"claims.{name}: its arms already have results at confirmatory seeds {seen}, so "
                f"registering it now is not a registration before results. Declare it with "
                f"`{how_to}` (the page shows it as amended after results), or give it "
                f"confirmatory seeds that have not run."
            )
        amendments = [_amendment(stamp, amend, sorted(design), 1, True)] if seen else []
        lock[name] = _entry(design, digest, stamp, looks=1, amendments=amendments)
        return f"registered {name}" + (" (after results)" if seen else ""), None
    if entry.get("hash") == digest:
        note = " (back in the pipeline)" if entry.pop("dropped", None) else ""
        return f"unchanged  {name}{note}", None
    old = entry["design"]
    changed = changed_fields(old, design)
    old_seen, new_seen = seen_seeds(tidy, old), seen_seeds(tidy, design)
    added = sorted(set(design["seeds"]) - set(old["seeds"]))
    look = bool(old_seen and added)
    pure_look = (
        look
        and changed == ["seeds"]
        and set(old["seeds"]) <= set(design["seeds"])
        and not set(added) & set(new_seen)
    )
    after = bool(old_seen or new_seen) and not pure_look
    if after and amend is None:
        seen = sorted(set(old_seen) | set(new_seen))
        return "", (
            f"claims.{name}: its design changed after its arms had results at confirmatory "
            f"seeds {seen} (changed: {', '.join(changed)}). Declare the change with `{how_to}` "
            f"(the page then shows the claim as amended after results, with the reason), or "
            f"undo it in {pipeline_file}."
        )
    looks = int(entry.get("looks", 1)) + look
    if amend is not None:
        reason = amend
    elif look:
        reason = f"look {looks}: seeds {added} added after seeds {old_seen} had results"
    else:
        reason = BEFORE_RESULTS
    amendments = [*entry.get("amendments", []), _amendment(stamp, reason, changed, looks, after)]
    lock[name] = {**entry, "design": design, "hash": digest, "looks": looks}
    lock[name]["amendments"] = amendments
    lock[name].pop("dropped", None)
    what = "amended" if after else ("look" if look else "updated")
    return f"{what:<10} {name}: {', '.join(changed)} ({reason})", None


def _entry(
    design: dict, digest: str, stamp: dict, looks: int, amendments: list[dict]
) -> dict[str, Any]:
    registered = {k: stamp[k] for k in ("commit", "dirty", "date")}
    return {
        "design": design,
        "hash": digest,
        "registered": registered,
        "looks": looks,
        "amendments": amendments,
    }


def _amendment(
    stamp: dict, reason: str, changed: list[str], looks_after: int, after_results: bool
) -> dict[str, Any]:
    return {
        "date": stamp["date"],
        "commit": stamp["commit"],
        "dirty": stamp["dirty"],
        "reason": reason,
        "changed": changed,
        "looks_after": looks_after,
        "after_results": after_results,
    }


def _withdraw(
    pipeline: Pipeline, lock: dict[str, dict[str, Any]], tidy: pd.DataFrame, stamp: dict
) -> list[str]:
    """Entries whose claim left the pipeline: removed when their arms never had results at
    their confirmatory seeds, else kept and stamped `dropped`."""
    lines = []
    for name in sorted(set(lock) - set(pipeline.claims)):
        seen = seen_seeds(tidy, lock[name]["design"])
        if not seen:
            del lock[name]
            lines.append(f"removed    {name}: no longer a claim, and it never had results")
            continue
        if "dropped" not in lock[name]:
            lock[name]["dropped"] = {"date": stamp["date"], "commit": stamp["commit"]}
        lines.append(
            f"dropped    {name}: no longer a claim, but its arms had results at seeds {seen}; "
            "kept in the lock"
        )
    return lines


def registration_state(
    lock: dict[str, dict[str, Any]], pipeline: Pipeline, name: str, claim: ClaimSpec
) -> dict[str, Any]:
    """How the claims page reads a claim's registration: `registered`, `amended after
    results` (some amendment was made while its arms had results) or `exploratory` (not in
    the lock, or its design is no longer the locked one), with the registration's date and
    commit, its amendments and its number of looks (1 when unregistered)."""
    entry = lock.get(name)
    if entry is None:
        return _state("exploratory", None, 1, "not registered; run methodlib register")
    looks = int(entry.get("looks", 1))
    if entry.get("hash") != design_hash(claim_design(pipeline, claim)):
        note = "design changed since registration; run methodlib register"
        return _state("exploratory", entry, looks, note)
    after = any(a.get("after_results") for a in entry.get("amendments", []))
    return _state("amended after results" if after else "registered", entry, looks, None)


def _state(state: str, entry: dict | None, looks: int, note: str | None) -> dict[str, Any]:
    registered = (entry or {}).get("registered", {})
    return {
        "state": state,
        "registered": registered.get("date"),
        "commit": registered.get("commit"),
        "dirty": registered.get("dirty"),
        "amendments": list((entry or {}).get("amendments", [])),
        "looks": looks,
        "note": note,
    }
