"""What every artifact records about how it was made, so a number can be traced to its run."""

from __future__ import annotations

import os
import platform
import socket
import sys
from datetime import UTC, datetime
from importlib import metadata

from methodlib.device import device_record

PACKAGES = ("methodlib", "torch", "numpy", "pydantic", "snakemake", "pandas", "scikit-learn")


def provenance(device: str | None = None) -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    record = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "device": device,
        **device_record(device),
    }
    if "SLURM_JOB_ID" in os.environ:
        record["slurm_job_id"] = os.environ["SLURM_JOB_ID"]
        record["slurm_node"] = os.environ.get("SLURMD_NODENAME")
    return record
