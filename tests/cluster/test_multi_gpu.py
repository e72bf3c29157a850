"""A workstation with four GPUs (faked with METHODLIB_GPUS): `snakemake --cores 4 --resources
gpu=4` runs four training jobs at once, each on a GPU of its own, through the local executor."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import yaml
from shared_project import layout, sh

pytestmark = pytest.mark.slow

SEEDS = [0, 1, 2, 3]


def test_four_jobs_at_once_each_on_its_own_gpu(shared_data, tmp_path):
    project = tmp_path / "workstation"
    shutil.copytree(
        shared_data.origin, project, ignore=shutil.ignore_patterns(".snakemake", "results")
    )
    pipeline = yaml.safe_load((project / "configs" / "tiny.yaml").read_text())
    pipeline["defaults"]["device"] = "auto"
    pipeline["experiments"] = {"mlp": {**pipeline["experiments"]["mlp"], "seeds": SEEDS}}
    pipeline.pop("claims")  # its claim compares `conv`, which this file leaves out
    pipeline.pop("selections")  # and so does its selection
    (project / "configs" / "gpus.yaml").write_text(yaml.safe_dump(pipeline))
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env["METHODLIB_GPUS"] = "0,1,2,3"
    targets = [f"{layout(pipeline).run_dir('mlp', seed)}/run.json" for seed in SEEDS]
    command = ["snakemake", *targets, "--cores", "4", "--resources", "gpu=4"]
    sh(*command, "--configfile", "configs/gpus.yaml", cwd=project, env=env)
    slots = []
    for target in targets:
        record = json.loads((project / target).read_text())["provenance"]
        assert record["cuda_visible_devices"] == record["gpu_slot"]
        slots.append(record["gpu_slot"])
    assert sorted(slots) == ["0", "1", "2", "3"]  # started together: no GPU shared
    assert sorted(p.name for p in (project / ".snakemake" / "gpu-slots").iterdir()) == [
        f"gpu{i}.lock" for i in range(4)
    ]
