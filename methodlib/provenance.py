"""What every artifact records about how it was made, so a number can be traced to its run: the
code (git commit and dirty flag), what decides its floating-point numerics (CPU model, torch's
CPU kernels, thread counts, GPU), the packages and the platform.

Two machines that run the same code and config can still disagree in the last bits of every
number (their CPUs take different vectorised kernels), and a run made by older code looks
current unless the commit is recorded. None of this enters a config hash or a metric: run.json
keeps it under `provenance`, which the fingerprints leave out and nothing reads into numbers.

Torch is imported inside the functions that need it, so that importing this module costs
nothing to the modules that only declare things."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from methodlib.gpu_slots import SLOT_ENV

PACKAGES = ("methodlib", "torch", "numpy", "pydantic", "snakemake", "pandas", "scikit-learn")
TRACKED = ("methodlib", "rules", "Snakefile", "pipeline.yaml", "studies", "configs")
"""What "dirty" means for a run: a tracked file under these paths (the code, the workflow and
the pipeline files) differs from the commit, staged or not, edited or deleted. Everything else
(README, docs, tests, benchmarks, and reports/, which the pipeline itself rewrites) leaves a
run clean. Untracked files do not count: a new module or study file reaches a run only through
an edit to a tracked one (a registry's import, pipeline.yaml's `include:`), which is dirty."""
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
COMMAND_TIMEOUT = 10.0  # seconds: time for a slow shared file system on a cluster node, not a hang
CODE_ROOT = Path(__file__).resolve().parent.parent
"""The checkout whose code this process runs: the folder above the imported package. The
workflow root (a Snakemake job's working directory) is the same folder unless methodlib was
installed from somewhere else."""


def provenance(device: str | None = None) -> dict[str, Any]:
    """The record every run.json and judge keeps under `provenance`. `workflow_git` appears only
    when the working directory holds a Snakefile but is not `CODE_ROOT`: the rules and pipeline
    files came from another checkout than the code (or the code from an installed wheel)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    record: dict[str, Any] = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "git": git_record(CODE_ROOT),
    }
    workflow = Path.cwd().resolve()
    if workflow != CODE_ROOT and (workflow / "Snakefile").is_file():
        record["workflow_git"] = git_record(workflow)
    record["cpu"] = cpu_record()
    record["device"] = device
    record.update(device_record(device))
    if "SLURM_JOB_ID" in os.environ:
        record["slurm_job_id"] = os.environ["SLURM_JOB_ID"]
        record["slurm_node"] = os.environ.get("SLURMD_NODENAME")
    return record


def git_record(
    root: Path, paths: Iterable[str] = TRACKED, timeout: float = COMMAND_TIMEOUT
) -> dict[str, Any]:
    """{checkout, commit, dirty, changed, reason} of the git checkout at `root`, from one
    `git status` (its porcelain v2 header names the commit): `changed` lists the tracked files
    under `paths` that differ from the commit, `dirty` is whether there are any. Where there is
    no commit to name (an installed package, no git, no repository, a git that fails or hangs),
    commit, dirty and changed are None and `reason` says why; this never raises."""
    record: dict[str, Any] = {
        "checkout": str(root),
        "commit": None,
        "dirty": None,
        "changed": None,
        "reason": None,
    }
    if {"site-packages", "dist-packages"} & set(root.parts):
        record["reason"] = f"installed at {root}, not a git checkout (packages names its version)"
        return record
    command = ["git", "--no-optional-locks", "-C", str(root), "status", "--porcelain=v2"]
    command += ["--branch", "--untracked-files=no", "-z", "--", *paths]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        record["reason"] = "git is not installed"
        return record
    except subprocess.TimeoutExpired:
        record["reason"] = f"git status took over {timeout:g} s"
        return record
    except OSError as error:
        record["reason"] = f"git could not run: {error}"
        return record
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()
        record["reason"] = message[0] if message else f"git status exited {result.returncode}"
        return record
    commit, changed = parse_status(result.stdout)
    if commit is None:
        record["reason"] = "the repository has no commit yet"
        return record
    record.update(commit=commit, dirty=bool(changed), changed=changed, reason=None)
    return record


def parse_status(output: str) -> tuple[str | None, list[str]]:
    """(commit, changed paths) from `git status --porcelain=v2 --branch -z`: the commit from
    the `# branch.oid` header (None before the first commit), a path from each entry; a rename's
    second field (the path it came from) is skipped."""
    commit, changed = None, []
    fields = iter(output.split("\0"))
    for entry in fields:
        if entry.startswith("# branch.oid "):
            oid = entry.removeprefix("# branch.oid ")
            commit = None if oid == "(initial)" else oid
        elif entry[:2] in ("1 ", "2 ", "u "):
            # ordinary: 8 fields before the path; rename/copy: 9; unmerged: 10
            changed.append(entry.split(" ", {"1": 8, "2": 9, "u": 10}[entry[0]])[-1])
            if entry[0] == "2":
                next(fields, None)
    return commit, changed


def cpu_record() -> dict[str, Any]:
    """What decides a CPU run's floating-point numerics: the CPU, the widest vector kernels
    torch dispatches to on it (`AVX2`, `AVX512`, ...), and how many threads split its sums."""
    import torch

    return {
        "model": cpu_model(),
        "capability": torch.backends.cpu.get_cpu_capability(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "thread_env": {name: os.environ[name] for name in THREAD_ENV if name in os.environ},
    }


def cpu_model() -> str | None:
    """The CPU's marketing name: /proc/cpuinfo's `model name` on Linux, `sysctl` on macOS, the
    registry on Windows, else `platform.processor()` (None when that is empty too)."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        if found := parse_cpuinfo(f):
            return found
    found = None
    if sys.platform == "darwin":
        found = _macos_cpu_model()
    elif sys.platform == "win32":
        found = _windows_cpu_model()
    return found or platform.processor() or None


def parse_cpuinfo(lines: Iterable[str]) -> str | None:
    """The first `model name` of /proc/cpuinfo text, its inner runs of spaces collapsed (older
    Intel names pad with them); None where there is none (many ARM kernels leave it out)."""
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return " ".join(value.split())
    return None


def _macos_cpu_model() -> str | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        result = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.brand_string"],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        return result.stdout.strip() or None
    return None


def _windows_cpu_model() -> str | None:
    with contextlib.suppress(OSError, ImportError):
        import winreg

        key = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key) as handle:
            return str(winreg.QueryValueEx(handle, "ProcessorNameString")[0]).strip() or None
    return None


def device_record(device: str | None) -> dict[str, str | None]:
    """The GPUs the job was given, the slot it claimed, and on CUDA the GPU's name and compute
    capability (which kernels it runs)."""
    record = {
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "gpu_slot": os.environ.get(SLOT_ENV),
    }
    if device and device.startswith("cuda"):
        import torch

        index = torch.device(device)
        record["gpu_name"] = torch.cuda.get_device_name(index)
        record["gpu_capability"] = ".".join(map(str, torch.cuda.get_device_capability(index)))
    return record
