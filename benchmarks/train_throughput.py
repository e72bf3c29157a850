"""Training throughput of the shared loop (`methodlib.train.train_run` over `methodlib.loop.fit`, dense method) against a
minimal hand-written PyTorch loop: same model, data tensors, batch size, optimizer, epochs,
shuffling and threads (one), on the prepared mnist5k dataset, on the CPU or (`--device cuda`)
a GPU, where `--amp` and `--compile` turn on the training options of that name for both
loops (bfloat16 autocast of the steps; the model compiled in place, afresh for every run, as
a pipeline job compiles it).

What is timed, for both loops: each epoch from its start to the end of its validation pass
(shuffle, training steps, one pass over the validation split with NLL and accuracy). For the
shared loop that is the `seconds` column of `train_log.csv`; it excludes data loading, the
per-epoch checkpoint, the test predictions and the output files, which are reported separately
as `shared_call_seconds` (the whole `train_run` call). Repetitions alternate which loop goes
first; the figure is median shared / median reference throughput, per model (the median of the
per-repetition ratios is recorded too).

`--clock cpu` times both loops in process CPU seconds instead of wall seconds (the shared loop's
clock is swapped for `time.process_time`), which stays meaningful on a machine that other jobs
keep busy; its results go to `train_throughput_cpu.json`.

    python benchmarks/train_throughput.py [--repeats 5] [--epochs 3] [--clock wall|cpu]
    python benchmarks/train_throughput.py --device cuda [--amp] [--compile]   # a GPU machine

Results: `train_throughput.json` (CPU, wall clock), `train_throughput_cpu.json` (CPU clock),
`train_throughput_cuda[_amp][_compile].json` (GPU).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import tempfile
import time
import types
from pathlib import Path

import torch
import torch.nn.functional as F
from _common import median, target, write_result

import methodlib.loop
from methodlib.data import prepare_dataset
from methodlib.data.prepared import Prepared, load_prepared
from methodlib.models import build_model
from methodlib.spec import Pipeline, validate_pipeline
from methodlib.train import train_run

MODELS = ("lenet300_100", "lenet5")
DATASET = "mnist5k"
SEED = 0
TARGET_RATIO = 0.95
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def make_pipeline(epochs: int, device: str = "cpu", **options: bool) -> Pipeline:
    return validate_pipeline(
        {
            "seeds": [SEED],
            "defaults": {"device": device, "training": {"epochs": epochs, **options}},
            "datasets": {DATASET: {"source": DATASET}},
            "experiments": {
                model: {"dataset": DATASET, "model": model, "method": {"name": "dense"}}
                for model in MODELS
            },
        }
    )


def time_shared(
    pipeline: Pipeline, experiment: str, data_dir: Path, clock
) -> tuple[list[float], float]:
    """Epoch seconds from the run's train_log.csv, and the whole call's time."""
    _forget_compiled()
    with tempfile.TemporaryDirectory() as run_dir:  # fresh: train_run resumes from a checkpoint
        start = clock()
        train_run(pipeline, experiment, SEED, run_dir, data_dir=data_dir, progress=False)
        call = clock() - start
        with open(Path(run_dir) / "train_log.csv") as f:
            return [float(row["seconds"]) for row in csv.DictReader(f)], call


def time_reference(pipeline: Pipeline, experiment: str, data: Prepared, clock) -> list[float]:
    """The textbook loop, with the same shuffling and one validation pass per epoch."""
    torch.use_deterministic_algorithms(False)  # plain PyTorch defaults (train_run turns it on)
    _forget_compiled()
    exp = pipeline.experiments[experiment]
    training = exp.training
    device = torch.device(pipeline.defaults.device)
    torch.manual_seed(SEED)
    model = build_model(exp.model, data.meta["input_shape"], data.meta["n_classes"]).to(device)
    if training.compile:
        model.compile()
    amp = training.amp and device.type == "cuda"
    optimizer = torch.optim.Adam(
        model.parameters(), training.lr, weight_decay=training.weight_decay
    )
    x, y = data.train.x.to(device), data.train.y.to(device)
    x_val, y_val = data.val.x.to(device), data.val.y.to(device)
    n, bs, ebs = len(y), training.batch_size, training.eval_batch_size
    seconds = []
    for epoch in range(training.epochs):
        start = clock()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(SEED * 1_000_003 + epoch))
        order = order.to(device)
        model.train()
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            with torch.autocast("cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext():
                loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            probs = torch.cat(
                [F.softmax(model(x_val[i : i + ebs]), -1) for i in range(0, len(y_val), ebs)]
            )
            F.nll_loss(probs.clamp_min(1e-12).log(), y_val).item()  # .item(): waits for a GPU
            (probs.argmax(1) == y_val).float().mean().item()
        seconds.append(clock() - start)
    return seconds


def _forget_compiled() -> None:
    """Every run compiles its model afresh, as a pipeline job does (and torch's cache of
    compiled frames, 8 by default, never falls back to eager mode after a few runs)."""
    if hasattr(torch, "_dynamo"):
        torch._dynamo.reset()


def compare(pipeline: Pipeline, model: str, data_dir: Path, data: Prepared, clock, repeats: int):
    """Both loops on one model, interleaved (alternating which goes first), after a warm-up."""
    time_shared(pipeline, model, data_dir, clock)
    time_reference(pipeline, model, data, clock)
    shared_runs, reference_runs, calls = [], [], []
    for rep in range(repeats):
        for loop in ("shared", "reference")[:: 1 if rep % 2 == 0 else -1]:
            if loop == "shared":
                epochs, call = time_shared(pipeline, model, data_dir, clock)
                shared_runs.append(epochs)
                calls.append(call)
            else:
                reference_runs.append(time_reference(pipeline, model, data, clock))
    examples = len(data.train) * pipeline.experiments[model].training.epochs
    shared = median([examples / sum(e) for e in shared_runs])
    reference = median([examples / sum(e) for e in reference_runs])
    paired = [sum(r) / sum(s) for s, r in zip(shared_runs, reference_runs, strict=True)]
    return {
        "shared_examples_per_s": shared,
        "reference_examples_per_s": reference,
        "ratio": target(shared / reference, ">=", TARGET_RATIO),
        "paired_ratio_median": median(paired),
        "shared_epoch_seconds": shared_runs,
        "reference_epoch_seconds": reference_runs,
        "shared_call_seconds": calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--clock", choices=CLOCKS, default="wall")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:K")
    parser.add_argument("--amp", action="store_true", help="training.amp (CUDA)")
    parser.add_argument("--compile", action="store_true", help="training.compile (CUDA)")
    args = parser.parse_args()
    gpu = args.device.startswith("cuda")
    if gpu and args.clock == "cpu":
        parser.error("--clock cpu measures the CPU's work: use the wall clock on a GPU")
    if (args.amp or args.compile) and not gpu:
        parser.error("--amp and --compile are CUDA options (ignored on the CPU)")
    clock = CLOCKS[args.clock]
    if args.clock == "cpu":  # the loop stamps epochs with time.time(): give it CPU time instead
        methodlib.loop.time = types.SimpleNamespace(time=time.process_time)
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    options = {"amp": args.amp, "compile": args.compile}
    pipeline = make_pipeline(args.epochs, args.device, **options)

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / DATASET
        prepare_dataset(DATASET, pipeline.datasets[DATASET], data_dir)
        data = load_prepared(data_dir)
        models = {m: compare(pipeline, m, data_dir, data, clock, args.repeats) for m in MODELS}

    ratios = {m: f"{r['ratio']['value']:.3f}" for m, r in models.items()}
    name = "train_throughput" if args.clock == "wall" else "train_throughput_cpu"
    if gpu:
        name = "_".join(["train_throughput_cuda", *(k for k, on in options.items() if on)])
    write_result(
        name,
        f"{name}: shared/reference examples/s {ratios} "
        f"(target >= {TARGET_RATIO}; {args.device}, {args.clock} clock, 1 thread, "
        f"{args.epochs} epochs, median of {args.repeats})",
        what=__doc__.split("\n\n")[1].replace("\n", " "),
        clock=args.clock,
        device=args.device,
        gpu=torch.cuda.get_device_name(torch.device(args.device)) if gpu else None,
        dataset=DATASET,
        n_train=len(data.train),
        n_val=len(data.val),
        epochs=args.epochs,
        repeats=args.repeats,
        training=pipeline.experiments[MODELS[0]].training.model_dump(),
        models=models,
        met=all(r["ratio"]["met"] for r in models.values()),
    )


if __name__ == "__main__":
    main()
