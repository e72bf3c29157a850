"""One GPU per training job on a machine with several, under Snakemake's local executor.

`snakemake --cores 32 --resources gpu=4` never runs more than four training jobs at once, but it
does not tell a job which GPU to use. So a training job claims one itself, before CUDA starts: it
takes an exclusive `flock` on `<lock dir>/gpu<id>.lock` for the first free GPU and sets
`CUDA_VISIBLE_DEVICES` to that id. The lock belongs to the job's process, and the kernel releases
it when the process ends, however it ends (normal exit, exception, `kill -9`), so a crashed job
never leaves its GPU claimed.

Where something else already chose the devices (SLURM sets `CUDA_VISIBLE_DEVICES` for a job that
asked for `--gpus=1`, or the user set it), the job keeps them.

Environment:
    METHODLIB_GPUS          the GPU ids jobs may claim, e.g. `2,3` (default: every GPU that
                            `nvidia-smi` lists); the tests use it to fake a device list
    METHODLIB_GPU_LOCK_DIR  the lock folder (default `.snakemake/gpu-slots` in the working
                            directory); point two workflows at one folder to share the GPUs
    METHODLIB_GPU_SLOT      set by a claim to the GPU id it holds; recorded in run.json
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

GPUS_ENV = "METHODLIB_GPUS"
LOCK_DIR_ENV = "METHODLIB_GPU_LOCK_DIR"
SLOT_ENV = "METHODLIB_GPU_SLOT"
DEFAULT_LOCK_DIR = Path(".snakemake") / "gpu-slots"
CLAIMING_DEVICES = ("auto", "cuda")  # `cpu` needs no GPU; `cuda:k` names its own


@dataclass
class Slot:
    """A claimed GPU: held while `lock` (an open file with an exclusive flock) stays open."""

    gpu: str
    lock: IO[str]

    def release(self) -> None:
        self.lock.close()


_held: Slot | None = None  # the process's claim: dropping the file object would unlock it


def available_gpus() -> list[str]:
    """The GPU ids this machine's jobs may claim: $METHODLIB_GPUS, else nvidia-smi's list.

    nvidia-smi is asked rather than torch: counting devices through CUDA would start CUDA in
    this process, which then ignores a CUDA_VISIBLE_DEVICES set afterwards."""
    if GPUS_ENV in os.environ:
        return [gpu.strip() for gpu in os.environ[GPUS_ENV].split(",") if gpu.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def lock_dir() -> Path:
    return Path(os.environ.get(LOCK_DIR_ENV) or DEFAULT_LOCK_DIR)


def try_claim(gpu: str, folder: Path) -> Slot | None:
    """Claim `gpu` if no other process holds it; the lock file names the holder for humans."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = (folder / f"gpu{gpu}.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    lock.truncate(0)
    lock.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
    lock.flush()
    return Slot(gpu, lock)


def acquire(gpus: list[str], folder: Path, poll_seconds: float = 1.0) -> Slot:
    """The first free GPU of `gpus`, waiting while all are held (more jobs than GPUs, e.g.
    `--resources gpu=8` on four GPUs, or another workflow sharing the lock folder)."""
    waiting = False
    while True:
        for gpu in gpus:
            slot = try_claim(gpu, folder)
            if slot is not None:
                return slot
        if not waiting:
            print(
                f"all {len(gpus)} GPU(s) ({','.join(gpus)}) are claimed in {folder}; waiting",
                file=sys.stderr,
            )
            waiting = True
        time.sleep(poll_seconds)


def claim_gpu(device: str) -> str | None:
    """Give this process a GPU of its own for training on `device` (`auto`, `cpu`, `cuda[:k]`).

    Call before anything starts CUDA. Returns the claimed GPU id, now in CUDA_VISIBLE_DEVICES
    and METHODLIB_GPU_SLOT, or None where the job keeps its environment: a CPU or explicit
    `cuda:k` device, devices already chosen (SLURM, the user), or no GPUs at all."""
    global _held
    if _held is not None:
        return _held.gpu
    if device not in CLAIMING_DEVICES:
        return None
    chosen = os.environ.get("CUDA_VISIBLE_DEVICES")
    if chosen is not None:
        if "," in chosen and "SLURM_JOB_ID" not in os.environ:
            print(
                f"CUDA_VISIBLE_DEVICES={chosen} is set, so this job claims no GPU of its own and "
                f"parallel jobs share the first one; to spread them, unset it and set "
                f"{GPUS_ENV}={chosen} instead",
                file=sys.stderr,
            )
        return None
    gpus = available_gpus()
    if not gpus:
        return None
    _held = acquire(gpus, lock_dir())
    os.environ["CUDA_VISIBLE_DEVICES"] = _held.gpu
    os.environ[SLOT_ENV] = _held.gpu
    return _held.gpu


def release_gpu() -> None:
    """Give the claimed GPU back before the process ends (the end of the process does too)."""
    global _held
    if _held is not None:
        _held.release()
        _held = None
        for name in ("CUDA_VISIBLE_DEVICES", SLOT_ENV):
            os.environ.pop(name, None)
