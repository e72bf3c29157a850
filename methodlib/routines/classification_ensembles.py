"""Deep ensembles of classifiers across runs (the classification routine's `evaluate_ensemble`,
written out by `methodlib/evaluate_group.py`): the members are one experiment's runs with
different seeds, and the ensemble's prediction is the average of the members' predictive
distributions.

`results/<experiment>/group/metrics.json` holds the metrics of the whole ensemble (`seed` is
`all`, `samples` the number of members) and, as `curve`, those of ensembles of k members for
k = 1..K; `curve.csv` beside it is the same curve as a table (one row per size). It also holds
the whole ensemble's reliability bins and risk–coverage curve, which the study's figures draw
beside its runs'.

A point of the size curve is the mean metric over up to `SUBSETS` different k-member subsets
(the first k members among them; every subset for ensembles of up to 8 members), as in the
Pitfalls paper: one arbitrary order of members would make the curve, and every deep-ensemble
equivalent read off it, depend on which seed happens to come first. Averaged over all subsets,
the NLL of the averaged prediction cannot rise with k (it is convex in the prediction), so a
bump in the curve is the subsets' sampling noise, not the ensemble.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from methodlib.errors import RunError
from methodlib.metrics.selective import risk_coverage_curve
from methodlib.metrics.uncertainty import reliability_bins
from methodlib.routines.classification_eval import prediction_metrics, read_predictions

SUBSETS = 70  # C(8, 4): all subsets of every size for ensembles of up to 8
SUBSET_SEED = 0


def member_predictive(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A member's predictive distributions (its samples averaged) on the test and the
    out-of-domain split, and the test labels."""
    probs, labels, ood = read_predictions(path)
    ood_p = None if ood is None else ood.mean(axis=0, dtype=np.float64)
    return probs.mean(axis=0, dtype=np.float64), labels, ood_p


def member_subsets(
    n: int, k: int, limit: int = SUBSETS, seed: int = SUBSET_SEED
) -> list[list[int]]:
    """Up to `limit` distinct k-member subsets of n members: the first k members, then random
    ones (all of them when there are at most `limit`)."""
    first = list(range(k))
    if math.comb(n, k) <= limit:
        return [first, *(list(c) for c in itertools.combinations(range(n), k) if list(c) != first)]
    rng = np.random.default_rng([seed, n, k])
    chosen = {tuple(first)}
    while len(chosen) < limit:
        chosen.add(tuple(sorted(rng.choice(n, size=k, replace=False).tolist())))
    return [first, *(list(c) for c in sorted(chosen - {tuple(first)}))]


def size_curve(
    members: np.ndarray, labels: np.ndarray, ood: np.ndarray | None
) -> list[dict[str, Any]]:
    """Metrics of ensembles of k = 1..K members, each the mean over `member_subsets`."""
    curve = []
    for k in range(1, len(members) + 1):
        points = [
            prediction_metrics(members[idx], labels, None if ood is None else ood[idx])
            for idx in member_subsets(len(members), k)
        ]
        mean = {key: float(np.mean([m[key] for m in points])) for key in points[0]}
        curve.append({"samples": k, "ensembles": len(points), "metrics": mean})
    return curve


def disjoint_ensembles(
    members: np.ndarray, labels: np.ndarray, seeds: list[int]
) -> list[dict[str, Any]]:
    """Metrics of the disjoint k-member ensembles (members 0..k-1, k..2k-1, ...) for every k ≥ 2
    that gives at least two of them: independent ensembles, so a claim about an ensemble of k
    can be tested over them as over seeds (the size curve's subsets overlap)."""
    out = []
    for k in range(2, len(members) // 2 + 1):
        for start in range(0, len(members) - k + 1, k):
            idx = list(range(start, start + k))
            out.append(
                {
                    "samples": k,
                    "members": [seeds[i] for i in idx],
                    "metrics": prediction_metrics(members[idx], labels, None),
                }
            )
    return out


def seed_of(path: Path) -> int:
    match = re.fullmatch(r"seed(\d+)", path.parent.name)
    if not match:
        raise RunError(f"{path}: not in a run folder seed<N>")
    return int(match.group(1))


def evaluate_ensemble(experiment: str, predictions: list[Path]) -> dict[str, Any]:
    """metrics.json of the ensemble of the runs whose predictions.npz are given, in member
    order: the whole ensemble's metrics, reliability bins and risk–coverage curve, the size
    curve and the disjoint ensembles."""
    paths = [Path(p) for p in predictions]
    if not paths:
        raise RunError(f"{experiment}: an ensemble needs at least one member's predictions")
    members, oods, labels = [], [], None
    for path in paths:
        p, member_labels, ood = member_predictive(path)
        if labels is not None and not np.array_equal(labels, member_labels):
            raise RunError(f"{path}: test labels differ from {paths[0]}; members must share data")
        members.append(p)
        oods.append(ood)
        labels = member_labels
    ood_stack = None if any(o is None for o in oods) else np.stack(oods)
    curve = size_curve(np.stack(members), labels, ood_stack)
    ensemble = np.mean(members, axis=0)
    seeds = [seed_of(p) for p in paths]
    return {
        "experiment": experiment,
        "seed": "all",
        "members": seeds,
        "samples": len(members),
        "metrics": curve[-1]["metrics"],
        "curve": curve,
        "reliability": reliability_bins(ensemble, labels),
        "risk_coverage": risk_coverage_curve(ensemble, labels),
        "disjoint": disjoint_ensembles(np.stack(members), labels, seeds),
    }
