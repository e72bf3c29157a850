"""The training loop every method and every judge shares (`fit`), with what it needs: seeding,
the optimizers and schedules of a `TrainingSpec`, CUDA's compile and bfloat16 autocast, early
stopping on a validation column (`methodlib/early_stopping.py`), and a checkpoint after every
epoch that a rerun resumes from.

The loop knows nothing of tasks: what a run logs after every epoch comes in as `validate`,
and what it saves at the end is the caller's (`train_run` in `methodlib/train.py`, the judges
in `methodlib/judge.py` and `methodlib/text_judge.py`), so the loop stands below the judges and
the tasks' routines that use them.
"""

from __future__ import annotations

import contextlib
import math
import random
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

from methodlib.data import Prepared
from methodlib.early_stopping import EarlyStopping
from methodlib.errors import RunError
from methodlib.io import atomic_path
from methodlib.lr_schedules import SGD_FINAL, anneal
from methodlib.methods import EpochContext, Method, StepContext
from methodlib.methods.base import Objective
from methodlib.spec import TrainingSpec


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


def step_milestones(training: TrainingSpec) -> list[int]:
    """The epochs after which the step schedule divides the rate by 10: `lr_milestones` (the
    fractions of `epochs`, rounded to the nearest epoch) or, by default, half and three
    quarters of training (rounded down)."""
    if training.lr_milestones is None:
        return [training.epochs // 2, (3 * training.epochs) // 4]
    return [round(f * training.epochs) for f in training.lr_milestones]


def make_scheduler(optimizer: torch.optim.Optimizer, training: TrainingSpec):
    if training.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=training.epochs)
    if training.lr_schedule == "step":  # ÷10 at each milestone
        return torch.optim.lr_scheduler.MultiStepLR(
            optimizer, milestones=step_milestones(training), gamma=0.1
        )
    if training.lr_schedule == "anneal":  # per epoch, as the reference's SGD baseline
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda epoch: anneal(epoch / training.epochs, SGD_FINAL)
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)


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
    validation columns; `name` heads errors and the progress bar.

    With `training.early_stopping`, `training.epochs` is the most the run trains: it stops
    after `patience` epochs without improvement, ends with its best epoch's weights (with
    `restore_best`) and returns the log with a `kept` column; the stopping state is part of
    the checkpoint, so a resumed run stops where an uninterrupted one does."""
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
    stopping = EarlyStopping(training.early_stopping) if training.early_stopping else None
    start_epoch, log = 0, []
    if checkpoint is not None and checkpoint.path.exists():
        start_epoch, log = _resume(checkpoint, seed, model, steppers, method, stopping)

    autocast = accelerate(model, training, device, name)
    x_train, y_train = data.train.x.to(device), data.train.y.to(device)
    x_val, y_val = data.val.x.to(device), data.val.y.to(device)
    bs = training.batch_size
    if start_epoch == 0:
        method.on_train_start(model, x_train)
    for epoch in range(start_epoch, training.epochs):
        if stopping is not None and stopping.stopped:
            break
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
        if stopping is not None:
            stopping.update(row, model, method, name)
        if checkpoint is not None:
            _save_state(checkpoint, seed, epoch + 1, model, steppers, method, log, stopping)
    if stopping is not None:
        log = stopping.finish(log, model, method)
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
    return torch_load(path)["model"]


def torch_load(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which one and what to do
        raise RunError(f"{path}: unreadable checkpoint ({exc}); delete it to start over") from None


def _resume(
    checkpoint, seed, model, steppers, method, stopping
) -> tuple[int, list[dict[str, Any]]]:
    state = torch_load(checkpoint.path)
    names = {s.name for s in steppers if s.name}
    if (
        state.get("config_hash") != checkpoint.config_hash
        or state.get("seed") != seed
        or set(state.get("objectives", {})) != names  # saved before the method's objectives
        or (stopping is not None and state.get("early_stopping") is None)
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
    if stopping is not None:
        stopping.load_state_dict(state["early_stopping"])
    torch.set_rng_state(state["rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    print(f"{checkpoint.path}: resuming after epoch {state['epoch']}", file=sys.stderr)
    return state["epoch"], state["log"]


def _save_state(checkpoint, seed, epoch, model, steppers, method, log, stopping) -> None:
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
        "early_stopping": stopping.state_dict() if stopping is not None else None,
    }
    with atomic_path(checkpoint.path) as tmp:
        torch.save(state, tmp)
