"""Device resolution: `auto` takes CUDA when there is one, else the CPU. Nothing assumes a GPU.

Which GPU a job may use is decided before this runs: by SLURM (`--gpus=1` sets
CUDA_VISIBLE_DEVICES), by the user, or by a GPU slot on a multi-GPU machine
(`methodlib.gpu_slots`). A CUDA_VISIBLE_DEVICES that names no usable GPU (a CPU build of torch, a
node without a driver) leaves `auto` on the CPU."""

from __future__ import annotations

import torch

from methodlib.errors import RunError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RunError(f"device {name!r} requested but CUDA is not available; use device: auto")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise RunError(f"device {name!r} requested but only {torch.cuda.device_count()} GPU(s)")
    return torch.device(name)
