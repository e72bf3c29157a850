"""Provenance: every run records its code (git commit, dirty flag) and what decides its numerics
(CPU model, torch's CPU capability, threads), and never fails for want of git."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from methodlib import provenance as module
from methodlib.provenance import (
    cpu_record,
    device_record,
    git_record,
    parse_cpuinfo,
    parse_status,
    provenance,
)

AMD_EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC 7B13 64-Core Processor
stepping\t: 0

processor\t: 1
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13 64-Core Processor
"""
INTEL_XEON = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu vme de pse avx512f avx512dq
"""
OLD_INTEL = "model name\t: Intel(R) Xeon(R) CPU           E5-2680 0 @ 2.70GHz\n"
ARM = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n"


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A committed checkout with a file in methodlib/, a Snakefile and a README."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "project"
    (root / "methodlib").mkdir(parents=True)
    (root / "methodlib" / "train.py").write_text("EPOCHS = 1\n")
    (root / "Snakefile").write_text("rule all:\n")
    (root / "README.md").write_text("readme\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


@pytest.mark.parametrize(
    "text, model",
    [
        (AMD_EPYC, "AMD EPYC 7B13 64-Core Processor"),
        (INTEL_XEON, "Intel(R) Xeon(R) Platinum 8480+"),
        (OLD_INTEL, "Intel(R) Xeon(R) CPU E5-2680 0 @ 2.70GHz"),
        (ARM, None),
    ],
)
def test_the_cpu_model_is_read_from_cpuinfo(text, model):
    assert parse_cpuinfo(text.splitlines()) == model


def test_a_run_records_its_cpu_threads_and_commit(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    record = provenance("cpu")
    cpu = record["cpu"]
    assert cpu["model"] is None or isinstance(cpu["model"], str) and cpu["model"]
    assert isinstance(cpu["capability"], str) and cpu["capability"]
    assert isinstance(cpu["threads"], int) and cpu["threads"] >= 1
    assert isinstance(cpu["interop_threads"], int) and cpu["interop_threads"] >= 1
    assert isinstance(cpu["cores"], int)
    assert cpu["thread_env"] == {"OMP_NUM_THREADS": "3"}
    code = record["git"]
    assert code["checkout"] == str(Path(module.__file__).resolve().parent.parent)
    if code["reason"] is None:  # the tests run from a checkout, or from an installed copy
        assert re.fullmatch(r"[0-9a-f]{40}", code["commit"])
        assert code["dirty"] is bool(code["changed"])
    else:
        assert code["commit"] is None and code["dirty"] is None
    assert record["device"] == "cpu" and "gpu_name" not in record


def test_the_dirty_flag_follows_tracked_files_of_the_code_and_workflow(repo):
    clean = git_record(repo)
    head = git(repo, "rev-parse", "HEAD").strip()
    assert clean == {
        "checkout": str(repo),
        "commit": head,
        "dirty": False,
        "changed": [],
        "reason": None,
    }
    (repo / "README.md").write_text("edited\n")  # tracked, but decides no number
    (repo / "methodlib" / "new.py").write_text("")  # untracked
    assert git_record(repo)["dirty"] is False
    (repo / "methodlib" / "train.py").write_text("EPOCHS = 2\n")
    assert git_record(repo) == {**clean, "dirty": True, "changed": ["methodlib/train.py"]}
    git(repo, "add", "methodlib/train.py")
    (repo / "Snakefile").unlink()
    assert git_record(repo)["changed"] == ["Snakefile", "methodlib/train.py"]
    git(repo, "commit", "-q", "-am", "second")
    assert git_record(repo)["dirty"] is False
    assert git_record(repo)["commit"] == git(repo, "rev-parse", "HEAD").strip() != head


def test_a_renamed_file_is_named_once(repo):
    git(repo, "mv", "methodlib/train.py", "methodlib/loop.py")
    assert git_record(repo)["changed"] == ["methodlib/loop.py"]


def test_outside_git_the_commit_is_null_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    nothing = {"commit": None, "dirty": None, "changed": None}
    outside = git_record(tmp_path)
    assert outside == {"checkout": str(tmp_path), **nothing, "reason": outside["reason"]}
    assert "not a git repository" in outside["reason"]
    wheel = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    assert git_record(wheel)["reason"].startswith(f"installed at {wheel}")
    (tmp_path / "empty").mkdir()
    git(tmp_path / "empty", "init", "-q")
    assert git_record(tmp_path / "empty")["reason"] == "the repository has no commit yet"


def test_without_git_on_the_path_the_reason_says_so(repo, monkeypatch):
    monkeypatch.setenv("PATH", str(repo / "no-bin"))
    assert git_record(repo)["reason"] == "git is not installed"
    assert git_record(repo)["commit"] is None


def test_a_workflow_root_apart_from_the_code_is_recorded_too(repo, monkeypatch):
    monkeypatch.chdir(repo)
    record = provenance("cpu")
    assert record["workflow_git"]["commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert record["git"]["checkout"] != str(repo)
    monkeypatch.chdir(repo / "methodlib")  # no Snakefile: not a workflow root
    assert "workflow_git" not in provenance("cpu")


def test_the_porcelain_parser_reads_ordinary_renamed_and_unmerged_entries():
    oid = "a" * 40
    output = "\0".join(
        [
            f"# branch.oid {oid}",
            "# branch.head main",
            "1 .M N... 100644 100644 100644 abc abc studies/my study.yaml",
            "2 R. N... 100644 100644 100644 abc abc R100 rules/new.smk",
            "rules/old.smk",
            "u UU N... 100644 100644 100644 100644 abc abc abc configs/x.yaml",
            "",
        ]
    )
    changed = ["studies/my study.yaml", "rules/new.smk", "configs/x.yaml"]
    assert parse_status(output) == (oid, changed)
    assert parse_status("# branch.oid (initial)\0# branch.head main\0") == (None, [])


def test_the_cpu_record_follows_torch_threads():
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert cpu_record()["threads"] == 1
    finally:
        torch.set_num_threads(before)


def test_a_cuda_run_records_the_gpu_and_its_compute_capability(monkeypatch):
    import torch

    asked = []
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d: asked.append(d) or "NVIDIA H100")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d: asked.append(d) or (9, 0))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    record = device_record("cuda:0")
    assert record["gpu_name"] == "NVIDIA H100" and record["gpu_capability"] == "9.0"
    assert record["cuda_visible_devices"] == "2"
    assert asked == [torch.device("cuda:0")] * 2
    assert "gpu_capability" not in device_record("cpu")
