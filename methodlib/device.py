"""Device resolution: `auto` takes CUDA when there is one, else the CPU. Nothing assumes a GPU."""

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
