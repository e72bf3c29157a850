"""The training loop every method shares.

A run is one (experiment, seed). Its state is checkpointed atomically after every epoch in
`<run>/state/`, which Snakemake does not own and so does not delete when a job dies: rerunning
the job resumes from the last finished epoch and ends with the same weights as an uninterrupted
run (shuffling is seeded per epoch, and the RNG state is part of the checkpoint).

Outputs, written only when training has finished: `predictions.npz`, `model.pt` (weights),
`train_log.csv`, and `run.json` (config, provenance, the task) last. The same four files for
every task, so the rules do not depend on it; what `predictions.npz` holds and the log's
validation columns are the method's task's (`Task.test_outputs`, `Task.validation_columns`
in `methodlib/tasks/`), and so is whether the inputs are standardised.
"""

from __future__ import annotations

import contextlib
import csv
import math
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from methodlib.data import Prepared, load_prepared
from methodlib.data.text import resolve_tokenizer
from methodlib.device import resolve_device
from methodlib.errors import RunError
from methodlib.io import atomic_path, write_json, write_npz
from methodlib.methods import METHODS, DataInfo, EpochContext, Method, StepContext
from methodlib.methods.base import Objective, TextInfo
from methodlib.models.stats import count_flops, count_params
from methodlib.provenance import provenance
from methodlib.spec import Pipeline, TrainingSpec
from methodlib.tasks import get_task

CHECKPOINT = Path("state") / "checkpoint.pt"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def make_optimizer(groups: list[dict[str, Any]], training: TrainingSpec) -> torch.optim.Optimizer:
    """An optimizer over a method's parameter groups; a group's `lr_scale` multiplies
    `training.lr` (and what the schedule makes of it) for that group, and its other keys
    (Adam's `betas` for the GANs) are the optimizer's per-group options."""
    params = [
        {
            **{k: v for k, v in g.items() if k != "lr_scale"},
            "lr": training.lr * g.get("lr_scale", 1.0),
        }
        for g in groups
    ]
    if training.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=training.lr, momentum=training.momentum, weight_decay=training.weight_decay
        )
    return torch.optim.Adam(params, lr=training.lr, weight_decay=training.weight_decay)


def objective_optimizer(objective: Objective) -> torch.optim.Optimizer:
    """Adam over an extra objective's groups at its own base rate (see `Objective`)."""
    return torch.optim.Adam(objective.param_groups, lr=objective.lr)


def make_scheduler(optimizer: torch.optim.Optimizer, training: TrainingSpec):
    if training.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=training.epochs)
    if training.lr_schedule == "step":  # ÷10 at half and three quarters of training
        milestones = [training.epochs // 2, (3 * training.epochs) // 4]
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)


def data_info(data: Prepared) -> DataInfo:
    """What a method knows of its data: shapes, classes (the vocabulary for text), domain."""
    meta = data.meta
    text = None
    if data.texts is not None:  # a text dataset: its token space
        text = TextInfo(
            resolve_tokenizer(meta["tokenizer"]), tuple(meta["vocab"]), meta["input_shape"][0]
        )
    return DataInfo(
        tuple(meta["input_shape"]),
        meta["n_classes"],
        len(data.train),
        meta.get("domain", "cube"),
        text,
        meta.get("density"),
    )


def train_run(
    pipeline: Pipeline,
    experiment: str,
    seed: int,
    run_dir: str | Path,
    data_dir: str | Path,
    init_dir: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train one run to completion (resuming if a matching checkpoint exists); return run.json.

    `data_dir` is the prepared dataset, `init_dir` the run folder of the experiment's
    `init_from` (the workflow passes both from `methodlib.paths`)."""
    run_dir = Path(run_dir)
    exp = pipeline.experiments[experiment]
    training = exp.training
    config_hash = pipeline.experiment_hash(experiment)
    device = resolve_device(pipeline.device_of(experiment))
    seed_everything(seed)

    task = get_task(METHODS[exp.method.name].task)
    data = load_prepared(data_dir, standardise=task.standardise_inputs)
    info = data_info(data)
    method = METHODS[exp.method.name](exp.method, exp.model, info)
    model = method.build_model().to(device)
    if exp.init_from is not None:
        if init_dir is None:
            raise RunError(f"{experiment} starts from {exp.init_from!r}: give its run folder")
        method.init_from(model, load_weights(Path(init_dir)))
    started = time.time()
    log, start_epoch = fit(
        method,
        model,
        training,
        data,
        device,
        seed,
        f"{experiment} seed {seed}",
        validate=lambda: task.validation_columns(
            method, model, data, training.eval_batch_size, device
        ),
        checkpoint=Checkpoint(run_dir / CHECKPOINT, config_hash),
        progress=progress,
    )

    outputs = task.test_outputs(method, model, data, training.eval_batch_size, device)
    write_npz(run_dir / "predictions.npz", **outputs)
    with atomic_path(run_dir / "model.pt") as tmp:
        torch.save({"model": model.state_dict(), "method": method.state_dict()}, tmp)
    _write_log(run_dir / "train_log.csv", log)
    record = {
        "experiment": experiment,
        "seed": seed,
        "config": pipeline.resolved_experiment(experiment),
        "config_hash": config_hash,
        "task": method.task,
        "domain": info.domain,
        "dataset_checksums": data.meta["checksums"],
        "epochs_resumed_from": start_epoch,
        "train_seconds": time.time() - started,
        "model_stats": {
            "params": count_params(model),
            **({} if info.text else {"flops": count_flops(model, info.input_shape)}),
            **method.run_metrics(model),
        },
        "provenance": provenance(str(device)),
    }
    write_json(run_dir / "run.json", record)
    shutil.rmtree(run_dir / CHECKPOINT.parent, ignore_errors=True)  # model.pt supersedes it
    return record


@dataclass(frozen=True)
class Checkpoint:
    """Where `fit` keeps its state after every epoch, and the config it belongs to."""

    path: Path
    config_hash: str


@dataclass
class _Stepper:
    """One optimizer, its schedule and the loss it minimises: the method's `loss` (name "") or
    one of its `objectives`."""

    name: str
    lr_key: str
    loss: Callable[..., torch.Tensor]
    optimizer: torch.optim.Optimizer
    scheduler: Any
    total: torch.Tensor | None = field(default=None)


def fit(
    method: Method,
    model: nn.Module,
    training: TrainingSpec,
    data: Prepared,
    device: torch.device,
    seed: int,
    name: str,
    validate: Callable[[], dict[str, float]] | None = None,
    checkpoint: Checkpoint | None = None,
    progress: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """Train `model` on the train split by `method` under `training`: the epoch and batch loop
    of every run and of the judges. Returns the training log and the epoch it resumed after.

    Each batch steps the method's `objectives` in order (the discriminators), each with its
    optimizer, then the method's `loss` with the optimizer of `training` over its
    `param_groups`; every optimizer has its own `training.lr_schedule`. A `checkpoint` is
    written after every epoch and resumed from when it matches. `validate` adds the log's
    validation columns; `name` heads errors and the progress bar."""
    objectives = method.objectives(model)
    steppers = [
        _Stepper(o.name, o.lr_key, o.loss, optimizer, make_scheduler(optimizer, training))
        for o in objectives
        for optimizer in [objective_optimizer(o)]
    ]
    optimizer = make_optimizer(method.param_groups(model), training)
    steppers.append(
        _Stepper("", "training.lr", method.loss, optimizer, make_scheduler(optimizer, training))
    )
    start_epoch, log = 0, []
    if checkpoint is not None and checkpoint.path.exists():
        start_epoch, log = _resume(checkpoint, seed, model, steppers, method)

    autocast = accelerate(model, training, device, name)
    x_train, y_train = data.train.x.to(device), data.train.y.to(device)
    x_val, y_val = data.val.x.to(device), data.val.y.to(device)
    bs = training.batch_size
    if start_epoch == 0:
        method.on_train_start(model, x_train)
    for epoch in range(start_epoch, training.epochs):
        epoch_start = time.time()
        subset = method.epoch_subset(epoch)
        n = len(y_train) if subset is None else len(subset)
        steps = math.ceil(n / bs)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
        order = (order if subset is None else subset[order]).to(device)
        model.train()
        for stepper in steppers:
            stepper.total = torch.zeros((), device=device)
        bar = tqdm(
            range(steps),
            desc=f"{name} epoch {epoch + 1}/{training.epochs}",
            disable=not progress,
            file=sys.stderr,
            mininterval=1.0,
        )
        for step in bar:
            idx = order[step * bs : (step + 1) * bs]
            x, y = x_train[idx], y_train[idx]
            ctx = StepContext(epoch, step, steps, training.epochs, n)
            factor = method.lr_factor(ctx)
            for stepper in steppers:
                if factor is not None:
                    for group in stepper.optimizer.param_groups:
                        group["lr"] = group["initial_lr"] * factor
                with autocast():
                    loss = stepper.loss(model, x, y, ctx)
                if not torch.isfinite(loss):
                    what = f"{stepper.name} loss" if stepper.name else "loss"
                    raise RunError(
                        f"{name}: {what} is {loss.item()} at epoch {epoch + 1}, "
                        f"step {step + 1}; lower {stepper.lr_key} or check the data"
                    )
                stepper.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                stepper.optimizer.step()
                stepper.total += loss.detach()
            if step % 20 == 0:
                bar.set_postfix(loss=f"{steppers[-1].total.item() / (step + 1):.4f}")
        lr = optimizer.param_groups[0]["lr"]
        for stepper in steppers:
            stepper.scheduler.step()
        method.on_epoch_end(
            model, EpochContext(epoch, training.epochs, x_train, y_train, x_val, y_val, bs)
        )
        row = {
            "epoch": epoch + 1,
            "train_loss": steppers[-1].total.item() / steps,
            **(validate() if validate is not None else {}),
            "lr": lr,
            "seconds": time.time() - epoch_start,
            **method.epoch_metrics(model),
            **{f"{s.name}_loss": s.total.item() / steps for s in steppers[:-1]},
        }
        log.append(row)
        bar.close()
        if checkpoint is not None:
            _save_state(checkpoint, seed, epoch + 1, model, steppers, method, log)
    return log, start_epoch


def accelerate(
    model: nn.Module, training: TrainingSpec, device: torch.device, name: str
) -> Callable[[], contextlib.AbstractContextManager]:
    """Apply `training.compile` to `model` (in place, so its state_dict keeps its keys) and
    return the context of a training step: bfloat16 autocast with `training.amp` (bfloat16
    keeps float32's range, so no loss scaling and no scaler state in the checkpoint), else
    none. Both are for CUDA: on another device they are ignored with a line in the log."""
    if device.type != "cuda":
        for option in ("amp", "compile"):
            if getattr(training, option):
                print(
                    f"{name}: training.{option} is ignored on {device} (CUDA only)", file=sys.stderr
                )
        return contextlib.nullcontext
    if training.compile:
        model.compile()
    if not training.amp:
        return contextlib.nullcontext
    if not torch.cuda.is_bf16_supported():
        raise RunError(
            f"{name}: training.amp uses bfloat16, which {torch.cuda.get_device_name(device)} "
            "does not support; set training.amp: false"
        )
    return lambda: torch.autocast("cuda", dtype=torch.bfloat16)


def load_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    path = run_dir / "model.pt"
    if not path.is_file():
        raise RunError(f"cannot initialise from {path}: it does not exist (has that run finished?)")
    return _torch_load(path)["model"]


def _torch_load(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which one and what to do
        raise RunError(f"{path}: unreadable checkpoint ({exc}); delete it to start over") from None


def _resume(checkpoint, seed, model, steppers, method) -> tuple[int, list[dict[str, Any]]]:
    state = _torch_load(checkpoint.path)
    names = {s.name for s in steppers if s.name}
    if (
        state.get("config_hash") != checkpoint.config_hash
        or state.get("seed") != seed
        or set(state.get("objectives", {})) != names  # saved before the method's objectives
    ):
        print(
            f"{checkpoint.path}: checkpoint of another config; starting from scratch",
            file=sys.stderr,
        )
        return 0, []
    model.load_state_dict(state["model"])
    for stepper in steppers:
        saved = state["objectives"][stepper.name] if stepper.name else state
        stepper.optimizer.load_state_dict(saved["optimizer"])
        stepper.scheduler.load_state_dict(saved["scheduler"])
    method.load_state_dict(state["method"])
    torch.set_rng_state(state["rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    print(f"{checkpoint.path}: resuming after epoch {state['epoch']}", file=sys.stderr)
    return state["epoch"], state["log"]


def _save_state(checkpoint, seed, epoch, model, steppers, method, log) -> None:
    main = steppers[-1]
    state = {
        "config_hash": checkpoint.config_hash,
        "seed": seed,
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": main.optimizer.state_dict(),
        "scheduler": main.scheduler.state_dict(),
        "objectives": {
            s.name: {"optimizer": s.optimizer.state_dict(), "scheduler": s.scheduler.state_dict()}
            for s in steppers[:-1]
        },
        "method": method.state_dict(),
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "log": log,
    }
    with atomic_path(checkpoint.path) as tmp:
        torch.save(state, tmp)


def _write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
