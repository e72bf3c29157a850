"""CPU time of one training step of the implicit_vae and spherical_vae studies' VAEs, by the
gradient estimator of the latent, each against our implicit reparameterisation measured in the
same run: a benchmark of implementations, not a paper claim.

Why a benchmark: the studies once held four claims that our implicit step is faster than the
score-function, torch-kernel, RSVI (Dirichlet) and rejection-sampler (vMF) steps. A step time
compares our eager float64 kernels with other code (torch's C++ Dirichlet kernel, a closed-form
proposal), on whatever machine ran the job; the paper (Figurnov, Mohamed & Mnih 2018, Section 6)
states its speed-up for its own compiled kernels. What such a comparison can say is a ratio on
a named machine, so it lives here (issue 29).

What is timed: the studies' own experiments (`dirvae_*` of studies/implicit_vae.yaml, `vmf_*`
of studies/spherical_vae.yaml, read from pipeline.yaml so the configs are the studies'), each
built with the same seed on the prepared mnist5k training split, one thread. Each estimator
trains on its own model and Adam state (so its concentrations evolve as in a run); the arms
take turns, one epoch (35 steps of batch 100) each per round, and every step's CPU seconds
(`time.process_time`: forward, backward and update, as the studies' `seconds_per_step`) are
kept. Figures: per arm the median step time, and the ratio of each arm's median to the
reference arm's median (the implicit estimator of the same VAE), with the ratio's spread over
rounds (median of the per-round ratios, and their min and max).

    python benchmarks/vae_step_times.py [--rounds 6]

Results: `vae_step_times.json`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from _common import ROOT, median, write_result

from methodlib.data import prepare_dataset
from methodlib.data.prepared import load_prepared
from methodlib.methods import METHODS
from methodlib.methods.base import StepContext
from methodlib.spec import load_pipeline
from methodlib.train import data_info, make_optimizer

DATASET = "mnist5k"
SEED = 0
# VAE -> (reference arm, other arms): the experiments of the two studies
GROUPS = {
    "dirichlet": ("dirvae_implicit", ("dirvae_torch", "dirvae_rsvi", "dirvae_score_function")),
    "vmf": ("vmf_implicit", ("vmf_rejection", "vmf_score_function")),
}


class Arm:
    """One experiment's method, model and optimizer, stepping through the training split."""

    def __init__(self, pipeline, name: str, data) -> None:
        exp = pipeline.experiments[name]
        torch.manual_seed(SEED)
        self.method = METHODS[exp.method.name](exp.method, exp.model, data_info(data))
        self.model = self.method.build_model()
        self.optimizer = make_optimizer(self.method.param_groups(self.model), exp.training)
        self.x, self.y = data.train.x, data.train.y
        self.batch = exp.training.batch_size
        self.epochs = exp.training.epochs
        self.epoch = 0
        self.method.on_train_start(self.model, self.x)

    def epoch_seconds(self) -> list[float]:
        """One epoch of training steps; the CPU seconds of each."""
        n = len(self.y)
        steps = -(-n // self.batch)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.epoch))
        self.model.train()
        seconds = []
        for step in range(steps):
            idx = order[step * self.batch : (step + 1) * self.batch]
            ctx = StepContext(self.epoch, step, steps, self.epochs, n)
            start = time.process_time()
            loss = self.method.loss(self.model, self.x[idx], self.y[idx], ctx)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            seconds.append(time.process_time() - start)
        self.epoch += 1
        return seconds


def compare(pipeline, reference: str, others: tuple[str, ...], data, rounds: int) -> dict:
    arms = {name: Arm(pipeline, name, data) for name in (reference, *others)}
    steps: dict[str, list[float]] = {name: [] for name in arms}
    per_round: dict[str, list[float]] = {name: [] for name in arms}
    for r in range(rounds):
        names = list(arms) if r % 2 == 0 else list(arms)[::-1]  # alternate who goes first
        for name in names:
            seconds = arms[name].epoch_seconds()
            steps[name] += seconds
            per_round[name].append(median(seconds))
    ref = median(steps[reference])
    out = {"reference": reference, "median_step_seconds": {}, "ratio_to_reference": {}}
    for name in arms:
        out["median_step_seconds"][name] = median(steps[name])
        if name == reference:
            continue
        ratios = [a / b for a, b in zip(per_round[name], per_round[reference], strict=True)]
        out["ratio_to_reference"][name] = {
            "ratio_of_medians": median(steps[name]) / ref,
            "median_of_round_ratios": median(ratios),
            "min_round_ratio": min(ratios),
            "max_round_ratio": max(ratios),
        }
    out["steps_per_arm"] = len(steps[reference])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=6, help="epochs per arm, in turns")
    args = parser.parse_args()
    torch.set_num_threads(1)
    pipeline = load_pipeline(ROOT / "pipeline.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / DATASET
        prepare_dataset(DATASET, pipeline.datasets[DATASET], data_dir)
        data = load_prepared(data_dir)
        results = {
            vae: compare(pipeline, reference, others, data, args.rounds)
            for vae, (reference, others) in GROUPS.items()
        }
    summary = "vae_step_times: step time / implicit (ours) step time, " + "; ".join(
        f"{name} {r['ratio_of_medians']:.2f}"
        for result in results.values()
        for name, r in result["ratio_to_reference"].items()
    )
    write_result(
        "vae_step_times",
        summary,
        what=__doc__.split("\n\n")[0].replace("\n", " "),
        clock="time.process_time, one thread",
        dataset=DATASET,
        seed=SEED,
        rounds=args.rounds,
        results=results,
    )


if __name__ == "__main__":
    main()
