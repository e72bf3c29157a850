"""Accuracy of gradient estimators for stochastic binary networks
(`methodlib.methods.gradients.binary`) against the exact gradient by enumeration, in the PSA
paper's 2-5-5-5 setting (Shekhovtsov et al. 2020, gradient-accuracy experiment; Shekhovtsov &
Yanush 2021 for the ST variants).

Network: 2-D input, three binary layers of 5 logistic-noise units, one logit with the logistic
loss, on the paper's two-class toy data (`psa_toy_data`, 2 × 100 points, fixed data seed);
weights uniform in [−1, 1] drawn per weight seed (the paper also measures at checkpoints of
training, not done here). Per weight seed, estimator and S ∈ {1, 10, 100}: R independent
estimates, each the mean of S single-sample estimates over the whole data set, and
- cos: the mean over the R estimates of their cosine similarity to the exact gradient (all
  parameters flattened),
- bias: ‖mean of the R estimates − exact‖ / ‖exact‖ (includes the Monte-Carlo floor
  √(variance / R), which is what the unbiased estimators show),
- variance: Σ_coordinates Var(estimate) / ‖exact‖², of one S-sample estimate.
Test (paired over weight seeds, one-sided `scipy.stats.ttest_rel`): the principled ST ("st",
backward 2F'(a)) has higher cosine similarity than identity ST and than tanh ST, at each S.

    python benchmarks/binary_estimators.py [--seeds 10] [--replicates 100]

Results: `binary_estimators.json` and `binary_estimators.png` (cosine similarity against S,
mean ± sd over weight seeds; relative bias and variance at S = 1).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _common import RESULTS, write_result
from scipy import stats

from methodlib.methods.gradients.binary import (
    BinaryNetwork,
    estimate_gradient,
    exact_gradient,
    flat,
    psa_toy_data,
)

WIDTHS = (2, 5, 5, 5)
SAMPLES = (1, 10, 100)
# name: (estimator, Concrete temperature)
ESTIMATORS = {
    "st": ("st", 1.0),
    "st_identity": ("st_identity", 1.0),
    "st_tanh": ("st_tanh", 1.0),
    "st_hardtanh": ("st_hardtanh", 1.0),
    "concrete_t0.1": ("concrete", 0.1),
    "concrete_t1": ("concrete", 1.0),
    "reinforce": ("reinforce", 1.0),
    "psa": ("psa", 1.0),
}
COMPARED = ("st_identity", "st_tanh")


def measure(net, x, y, exact, estimator, tau, samples, replicates, generator) -> dict:
    reps = torch.stack(
        [
            flat(
                estimate_gradient(
                    net, x, y, estimator, samples=samples, generator=generator, tau=tau
                )
            )
            for _ in range(replicates)
        ]
    )
    norm = exact.norm()
    cos = torch.nn.functional.cosine_similarity(reps, exact.unsqueeze(0), dim=1)
    return {
        "cos": cos.mean().item(),
        "bias": ((reps.mean(0) - exact).norm() / norm).item(),
        "variance": (reps.var(0).sum() / norm**2).item(),
    }


def summarise(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values)}


def plot(table: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (name, per_s) in enumerate(table.items()):
        means = [per_s[str(s)]["cos"]["mean"] for s in SAMPLES]
        sds = [per_s[str(s)]["cos"]["sd"] for s in SAMPLES]
        axes[0].errorbar(SAMPLES, means, yerr=sds, marker="o", ms=3, capsize=2, label=name)
        one = per_s["1"]
        axes[1].scatter(one["variance"]["mean"], one["bias"]["mean"], color=f"C{i}", label=name)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("samples S averaged per estimate")
    axes[0].set_ylabel("cosine similarity to exact gradient")
    axes[0].legend(fontsize=7)
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("variance / ‖exact‖² (S = 1)")
    axes[1].set_ylabel("‖bias‖ / ‖exact‖ (S = 1)")
    fig.suptitle(f"SBN {'-'.join(map(str, WIDTHS))}, mean ± sd over weight seeds", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--points", type=int, default=100, help="per class")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    x, y = psa_toy_data(args.points, torch.Generator().manual_seed(0))
    raw: dict[str, dict[str, list[dict]]] = {n: {str(s): [] for s in SAMPLES} for n in ESTIMATORS}
    for seed in range(args.seeds):
        net = BinaryNetwork.init(WIDTHS, generator=torch.Generator().manual_seed(1000 + seed))
        exact = flat(exact_gradient(net, x, y))
        g = torch.Generator().manual_seed(seed)
        for name, (estimator, tau) in ESTIMATORS.items():
            for s in SAMPLES:
                row = measure(net, x, y, exact, estimator, tau, s, args.replicates, g)
                raw[name][str(s)].append(row)
    table = {
        name: {
            s: {k: summarise([r[k] for r in rows]) for k in ("cos", "bias", "variance")}
            for s, rows in per_s.items()
        }
        for name, per_s in raw.items()
    }
    tests = {}
    for other in COMPARED:
        for s in SAMPLES:
            st = [r["cos"] for r in raw["st"][str(s)]]
            ad_hoc = [r["cos"] for r in raw[other][str(s)]]
            result = stats.ttest_rel(st, ad_hoc, alternative="greater")
            tests[f"st > {other}, S={s}"] = {
                "mean_difference": statistics.fmean(a - b for a, b in zip(st, ad_hoc, strict=True)),
                "t": float(result.statistic),
                "p": float(result.pvalue),
                "holds_at_0.05": bool(result.pvalue < 0.05),
            }
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(table, RESULTS / "binary_estimators.png")
    summary = (
        "binary_estimators: cosine to exact gradient (mean over seeds) S=1/10/100: "
        + "; ".join(
            f"{n} " + "/".join(f"{table[n][str(s)]['cos']['mean']:.3f}" for s in SAMPLES)
            for n in table
        )
    )
    write_result(
        "binary_estimators",
        summary,
        what=__doc__.split("\n\n")[0].replace("\n", " "),
        seconds=time.perf_counter() - start,
        tests=tests,
        claim_holds=all(t["holds_at_0.05"] for t in tests.values()),
        table=table,
        per_seed=raw,
        settings={
            "widths": WIDTHS,
            "data_points": 2 * args.points,
            "weight_seeds": args.seeds,
            "replicates": args.replicates,
            "samples": SAMPLES,
            "dtype": "float64",
        },
    )


if __name__ == "__main__":
    main()
