"""A real single-node SLURM cluster for the cluster tests and the SLURM benchmark.

Debian's `slurmctld`, `slurmd` and `munged` run as plain processes (no systemd, no slurmdbd),
with every file they use (configuration, key, sockets, state, logs) in one temporary folder, so
nothing under /etc or /run changes and a SLURM already on the machine is left alone. The node
has fake GPUs: GRES `gpu` backed by character devices such as /dev/null, enough for
`sbatch --gpus=1` to be scheduled and for the job to get its own CUDA_VISIBLE_DEVICES. The node
advertises the CPUs and memory the caller asks for (`SlurmdParameters=config_overrides`), so
the SLURM profile's real resource requests fit on a small test machine.

    python tests/cluster/minislurm.py    # start one, print how to use it, stop it on Enter
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
PROGRAMS = ("slurmctld", "slurmd", "munged", "sbatch", "srun", "squeue", "scancel", "sinfo")
FAKE_GPU_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/urandom", "/dev/random")
NODE = "testnode"
# What Snakemake's SLURM executor needs on top of profiles/slurm for this cluster: without
# slurmdbd, sacct never sees a job finish, so states come from squeue; and a quick first check.
SNAKEMAKE_OPTIONS = (
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "1",
)


class Unavailable(Exception):
    """This machine cannot run a test cluster; the message says why (a test skips with it)."""


def ensure_installed() -> None:
    """Install Debian's SLURM and munge packages where missing (root and apt-get needed)."""
    if all(shutil.which(p) for p in PROGRAMS):
        return
    if os.geteuid() != 0:
        raise Unavailable("SLURM is not installed, and installing it needs root")
    if shutil.which("apt-get") is None:
        raise Unavailable("SLURM is not installed, and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]
    result = subprocess.run(install, capture_output=True, text=True, env=env)
    if result.returncode != 0:  # no package lists yet, or stale ones
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env)
        result = subprocess.run(install, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise Unavailable(f"apt-get could not install {' '.join(PACKAGES)}: {' | '.join(tail)}")


@dataclass
class Cluster:
    root: Path
    conf: Path
    gpus: int
    pids: dict[str, int] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """An environment whose SLURM commands talk to this cluster.

        SLURM_CONF finds the configuration; `bin/` puts first an `srun` that sets it again,
        because the SLURM executor plugin's job step strips every SLURM_* variable before it
        calls srun inside the job (a real cluster keeps its configuration in /etc/slurm)."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def run(self, *args: str) -> str:
        return subprocess.run(
            args, capture_output=True, text=True, env=self.env(), check=True, timeout=60
        ).stdout

    def jobs(self) -> dict[str, dict[str, str]]:
        """Every job the controller still knows (finished ones for MinJobAge seconds)."""
        fields = ("state", "comment", "submit", "start", "end")
        out = self.run("squeue", "--states=all", "--noheader", "--format=%i|%T|%k|%V|%S|%e")
        jobs = {}
        for line in out.splitlines():
            job_id, *values = line.split("|")
            jobs[job_id] = dict(zip(fields, values, strict=True))
        return jobs

    def alive(self) -> dict[str, int]:
        """The daemons of this cluster that are still running, by name."""
        return {name: pid for name, pid in self.pids.items() if _running(pid)}

    def stop(self, timeout: float = 20.0) -> None:
        """Cancel the jobs, then stop each daemon by its pid (SIGTERM, SIGKILL if it hangs)."""
        if "slurmctld" in self.alive():
            subprocess.run(
                ["scancel", "--user", str(os.geteuid())], env=self.env(), capture_output=True
            )
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self.pids.get(name)
            if pid is None or not _running(pid):
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _running(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def version() -> str:
    return subprocess.run(["slurmctld", "-V"], capture_output=True, text=True).stdout.strip()


def start(cpus: int = 4, memory_mb: int = 128_000, gpus: int = 4) -> Cluster:
    """Start munged, slurmctld and slurmd; return once the node is idle."""
    ensure_installed()
    if os.geteuid() != 0:
        raise Unavailable("starting slurmd and munged needs root")
    devices = [d for d in FAKE_GPU_DEVICES if Path(d).is_char_device()][:gpus]
    if not devices:
        raise Unavailable("no character device to back a fake GPU")
    root = Path(tempfile.mkdtemp(prefix="methodlib-slurm-"))
    root.chmod(0o755)  # munged wants its socket folder reachable by every user
    cluster = Cluster(root, root / "slurm.conf", len(devices))
    try:
        _write_files(cluster, cpus, memory_mb, devices)
        _start_daemons(cluster)
        _wait_for_idle_node(cluster)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _write_files(cluster: Cluster, cpus: int, memory_mb: int, devices: list[str]) -> None:
    root = cluster.root
    for name in ("run", "state", "spool", "log", "munge", "bin"):
        (root / name).mkdir(mode=0o755)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    host = socket.gethostname().split(".")[0]
    ctld_port, slurmd_port = _free_ports(2)
    cluster.conf.write_text(
        f"""\
ClusterName=methodlib-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/run/munge.socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
# no cgroups in a container without systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
# jobs share the node by cores and memory; without DefMemPerCPU a job takes all the memory
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
# finished jobs stay visible to squeue, the status command used without slurmdbd
MinJobAge=300
ReturnToService=2
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName={NODE} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} \
Gres=gpu:{len(devices)} State=UNKNOWN
PartitionName=debug Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""
    )
    (root / "gres.conf").write_text(f"NodeName={NODE} Name=gpu File={','.join(devices)}\n")
    srun = root / "bin" / "srun"
    srun.write_text(f'#!/bin/sh\nSLURM_CONF={cluster.conf} exec {shutil.which("srun")} "$@"\n')
    srun.chmod(0o755)


def _start_daemons(cluster: Cluster) -> None:
    root, env = cluster.root, cluster.env()
    munged = [
        "munged",
        f"--socket={root}/run/munge.socket",
        f"--key-file={root}/munge/munge.key",
        f"--log-file={root}/log/munged.log",
        f"--pid-file={root}/run/munged.pid",
        f"--seed-file={root}/munge/munged.seed",
    ]
    daemons = {
        "munged": munged,
        "slurmctld": ["slurmctld", "-f", str(cluster.conf)],
        "slurmd": ["slurmd", "-f", str(cluster.conf), "-N", NODE],
    }
    for name, command in daemons.items():  # each forks into the background, then writes its pid
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        pid_file = root / "run" / f"{name}.pid"
        deadline = time.monotonic() + 10
        while not pid_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        if result.returncode != 0 or not pid_file.is_file():
            raise RuntimeError(f"{name} did not start: {result.stderr}{_logs(cluster)}")
        cluster.pids[name] = _read_pid(pid_file)


def _wait_for_idle_node(cluster: Cluster, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = subprocess.run(
            ["sinfo", "--noheader", "--Node", "--format=%T"],
            capture_output=True,
            text=True,
            env=cluster.env(),
        )
        if result.stdout.strip() == "idle":
            return
        time.sleep(0.5)
    raise RuntimeError(f"the SLURM node did not become idle in {timeout:g} s{_logs(cluster)}")


def _read_pid(path: Path) -> int:
    for _ in range(50):  # the daemon may still be writing it
        text = path.read_text().strip()
        if text:
            return int(text)
        time.sleep(0.05)
    raise RuntimeError(f"{path} stays empty")


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; its parent has not reaped it yet


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _logs(cluster: Cluster) -> str:
    parts = []
    for log in sorted((cluster.root / "log").glob("*.log")):
        parts.append(f"\n--- {log.name} ---\n" + "\n".join(log.read_text().splitlines()[-15:]))
    return "".join(parts)


if __name__ == "__main__":
    cluster = start()
    print(f"SLURM is up; in another shell:\n  export SLURM_CONF={cluster.conf}")
    print(f"  export PATH={cluster.root / 'bin'}:$PATH\n  sinfo")
    try:
        input("Enter stops it. ")
    finally:
        cluster.stop()
