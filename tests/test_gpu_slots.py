"""GPU slots: on a machine with several GPUs each training job claims one of its own with a file
lock, which the OS releases when the job ends, however it ends. METHODLIB_GPUS fakes the device
list, so this runs on any machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from methodlib import gpu_slots
from methodlib.gpu_slots import GPUS_ENV, LOCK_DIR_ENV, SLOT_ENV, claim_gpu, try_claim

FAKE_GPUS = "0,1,2,3"

# A stand-in for a training job: claims a GPU as `methodlib train` does, reports it, then holds
# it until killed (or crashes at once).
JOB = """
import os, sys, time
from methodlib.gpu_slots import claim_gpu
claim_gpu("auto")
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(os.environ["CUDA_VISIBLE_DEVICES"])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
if sys.argv[2] == "crash":
    raise RuntimeError("the job crashed")
time.sleep(600)
"""


@pytest.fixture
def locks(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(GPUS_ENV, FAKE_GPUS)
    monkeypatch.setenv(LOCK_DIR_ENV, str(tmp_path / "locks"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv(SLOT_ENV, raising=False)
    yield tmp_path / "locks"
    gpu_slots.release_gpu()


def test_a_claim_sets_the_jobs_gpu(locks):
    assert claim_gpu("auto") == "0"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == os.environ[SLOT_ENV] == "0"
    assert f"pid {os.getpid()}" in (locks / "gpu0.lock").read_text()
    assert claim_gpu("auto") == "0"  # a second call keeps the claim


def test_a_held_gpu_is_skipped_and_free_again_once_released(locks):
    other_job = try_claim("0", locks)
    assert try_claim("0", locks) is None
    assert claim_gpu("cuda") == "1"
    other_job.release()
    assert try_claim("0", locks) is not None


def test_devices_chosen_by_slurm_or_the_user_are_kept(locks, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert claim_gpu("auto") is None
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3" and SLOT_ENV not in os.environ


def test_several_devices_set_by_hand_are_kept_with_a_hint(locks, monkeypatch, capsys):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert claim_gpu("auto") is None
    assert f"{GPUS_ENV}=0,1" in capsys.readouterr().err


@pytest.mark.parametrize("device", ["cpu", "cuda:1"])
def test_cpu_and_pinned_devices_claim_nothing(locks, device):
    assert claim_gpu(device) is None
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_a_machine_without_gpus_claims_nothing(locks, monkeypatch):
    monkeypatch.setenv(GPUS_ENV, "")
    assert claim_gpu("auto") is None


def test_the_training_command_claims_before_cuda_starts(locks, tmp_path, data_root):
    """`methodlib train` with device auto on the fake GPUs: the run records its slot (a CPU
    build of torch sees no CUDA in CUDA_VISIBLE_DEVICES=0 and trains on the CPU)."""
    from methodlib.cli import main

    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        "defaults: {device: auto, training: {epochs: 1, batch_size: 64}}\n"
        "datasets: {digits: {source: digits, limit: 300}}\n"
        "experiments: {exp: {dataset: digits, model: lenet300_100, method: {name: dense}}}\n"
    )
    out = tmp_path / "run"
    args = ["train", "--pipeline", str(pipeline), "--experiment", "exp", "--seed", "0"]
    assert main([*args, "--out", str(out), "--data", str(data_root / "digits")]) == 0
    record = (out / "run.json").read_text()
    assert '"gpu_slot": "0"' in record and '"cuda_visible_devices": "0"' in record


def start_job(report: Path, mode: str = "hold") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", JOB, str(report), mode],
        stderr=report.with_suffix(".err").open("w"),
    )


def wait_for(path: Path, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            err = path.with_suffix(".err")
            raise AssertionError(f"{path.name} not written in {timeout:g} s; {err.read_text()}")
        time.sleep(0.05)
    return path.read_text()


def test_parallel_jobs_get_their_own_gpus_and_a_killed_jobs_gpu_is_reused(locks, tmp_path):
    jobs = []
    try:
        jobs = [start_job(tmp_path / f"job{i}") for i in range(4)]
        gpus = [wait_for(tmp_path / f"job{i}") for i in range(4)]
        assert sorted(gpus) == ["0", "1", "2", "3"]

        waiting = start_job(tmp_path / "job4")  # a fifth job while all four GPUs are claimed
        time.sleep(1.5)
        assert not (tmp_path / "job4").exists()
        assert "waiting" in (tmp_path / "job4.err").read_text()

        killed = gpus.index("2")
        os.kill(jobs[killed].pid, signal.SIGKILL)
        jobs.append(waiting)
        assert wait_for(tmp_path / "job4") == "2"
    finally:
        for job in jobs:
            job.kill()
            job.wait()


def test_a_crashed_jobs_gpu_is_free_again(locks, tmp_path):
    crashed = start_job(tmp_path / "crashed", mode="crash")
    assert wait_for(tmp_path / "crashed") == "0"
    assert crashed.wait(timeout=30) != 0
    assert try_claim("0", locks) is not None
