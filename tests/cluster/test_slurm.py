"""The real SLURM, no mocks: a single-node cluster from Debian's packages (tests/cluster/
minislurm.py) runs the tiny pipeline's runs through `profiles/slurm`, in a fresh clone that
pulled its prepared data from a DVC remote, as a user on a login node would. Beside it, the same
runs go through the local executor for comparison.

Only what this cluster lacks is set on the command line (minislurm.SNAKEMAKE_OPTIONS: no
slurmdbd, so job states come from squeue; a short first status check). Skipped where the
machine cannot start a cluster (not root, no apt-get); CI runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import minislurm
import pytest
from shared_project import BROKEN, layout, run_dirs, run_targets, sh

from methodlib import paths

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


@dataclass
class Runs:
    slurm: subprocess.CompletedProcess  # the clone's workflow through profiles/slurm
    clone: Path
    origin: Path  # where the same runs went through the local executor
    pipeline: dict

    def good_runs(self) -> dict[tuple[str, int], str]:
        """The run folder of each (experiment, seed) that trains."""
        return run_dirs(self.pipeline, broken=False)


@pytest.fixture(scope="module")
def cluster():
    try:
        cluster = minislurm.start()
    except minislurm.Unavailable as exc:
        pytest.skip(f"no test SLURM cluster: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def runs(cluster, shared_data) -> Runs:
    pipeline = shared_data.pipeline
    local_env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
    local = subprocess.Popen(  # runs while the SLURM jobs wait in the queue
        ["snakemake", "--cores", "2", *run_targets(pipeline, broken=False)],
        cwd=shared_data.origin,
        env=local_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    slurm = sh(
        "snakemake",
        "--workflow-profile",
        "profiles/slurm",
        *minislurm.SNAKEMAKE_OPTIONS,
        *run_targets(pipeline, broken=True),
        cwd=shared_data.clone,
        env=cluster.env(),
        check=False,
        timeout=600,  # a job state that never arrives hangs the workflow; fail instead
    )
    local_output, _ = local.communicate(timeout=900)
    assert local.returncode == 0, local_output
    return Runs(slurm, shared_data.clone, shared_data.origin, pipeline)


def provenance(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())["provenance"]


def test_every_training_job_is_its_own_slurm_job(runs, cluster):
    jobs = cluster.jobs()
    ids = []
    experiment_hash = layout(runs.pipeline).pipeline.experiment_hash
    clone_head = sh("git", "rev-parse", "HEAD", cwd=runs.clone).stdout.strip()
    for (experiment, seed), run in runs.good_runs().items():
        record = provenance(runs.clone / run)
        job_id = record["slurm_job_id"]
        wildcards = f"{experiment}_{experiment_hash(experiment)}_{seed}"  # in the path's order
        assert jobs[job_id]["comment"] == f"rule_train_run_wildcards_{wildcards}"
        assert jobs[job_id]["state"] == "COMPLETED"
        assert record["slurm_node"] == minislurm.NODE
        # SLURM's GPU for the job; the CPU-only torch sees no CUDA, so `auto` fell back to the CPU
        assert record["cuda_visible_devices"] in {str(i) for i in range(cluster.gpus)}
        assert record["gpu_slot"] is None and record["device"] == "cpu"
        # the job ran in the clone (its workflow root) on the installed package's code
        assert record["workflow_git"]["commit"] == clone_head
        ids.append(job_id)
    assert len(set(ids)) == len(ids) == 3


def test_resources_come_from_the_profile(runs, cluster):
    first_run = next(iter(runs.good_runs().values()))
    job_id = provenance(runs.clone / first_run)["slurm_job_id"]
    job = cluster.run("scontrol", "show", "job", "--oneliner", job_id)
    assert "TimeLimit=08:00:00" in job  # set-resources: train_run: runtime: 480
    assert "mem=16000M" in job  # set-resources: train_run: mem_mb: 16000
    assert "TresPerJob=gres:gpu:1" in job  # the rule's `resources: gpu=1` became --gpus=1


def test_metrics_equal_the_local_run(runs):
    def metrics(project: Path, run: str) -> dict:
        record = json.loads((project / run / "metrics.json").read_text())
        return {k: v for k, v in record["metrics"].items() if not k.endswith("_seconds")}

    for run in runs.good_runs().values():
        on_slurm, local = metrics(runs.clone, run), metrics(runs.origin, run)
        assert on_slurm == local, run
        assert {"test_accuracy", "test_nll", "test_brier"} <= set(on_slurm)


def test_a_failed_job_fails_the_workflow_naming_its_slurm_log(runs):
    assert runs.slurm.returncode != 0
    output = runs.slurm.stdout + runs.slurm.stderr
    assert "Error in rule train_run:" in output, output[-3000:]
    error = output.split("Error in rule train_run:")[1].split("external_jobid")[0]
    broken_hash = layout(runs.pipeline).pipeline.experiment_hash(BROKEN)
    wildcards = f"{BROKEN}_{broken_hash}_0"
    logs = re.findall(r"\S*/slurm_logs/rule_train_run/" + wildcards + r"/\d+\.log", error)
    assert logs and Path(logs[0]).is_file(), error
    rule_log = runs.clone / paths.LOGS / "train_run" / BROKEN / broken_hash / "seed0.log"
    assert "device 'cuda:7' requested" in rule_log.read_text()


def test_pulled_data_is_not_prepared_again(runs):
    output = runs.slurm.stdout + runs.slurm.stderr
    assert "rule_prepare_dataset" not in output
    assert not (runs.clone / paths.LOGS / "prepare_dataset").exists()


def test_the_test_daemons_stop_by_pid(cluster):
    pids = dict(cluster.pids)
    assert set(pids) == {"munged", "slurmctld", "slurmd"}
    cluster.stop()
    assert cluster.alive() == {}, f"still running after stop: {cluster.alive()}"
    assert not cluster.root.exists()
