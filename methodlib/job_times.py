"""Times of the workflow's jobs, read from the TSV files of Snakemake's `benchmark:` directive
(one per job under `results/benchmarks/`, kept when the job's outputs are deleted): the
estimate printed when a workflow starts (the Snakefile's `onstart:`) and the per-rule profile
of `benchmarks/profile_rules.py` read the same files through `read_benchmark`.

The estimate is a sum of earlier measurements, so it says how it got each job's time: the
job's own file from an earlier run of the same config; else the mean of the files of the same
rule and wildcards except `hash` and `seed` (the experiment's other seeds and earlier
configs); else the median of the rule's files; else nothing (a rule never timed here). It
reads files only, no torch, and takes well under a second for a few thousand jobs.
"""

from __future__ import annotations

import csv
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from glob import glob as globbed
from pathlib import Path

NOT_IDENTITY = ("hash", "seed")
"""Wildcards whose value does not change what a job costs much: a run's seed, and the config
hash (an earlier config of the same experiment is a better guess than the rule's median)."""


@dataclass(frozen=True)
class Timing:
    """One benchmark file: wall and CPU seconds, largest resident memory (MB)."""

    seconds: float
    cpu_seconds: float
    max_rss_mb: float


def read_benchmark(path: str | Path) -> Timing | None:
    """A benchmark TSV's timing (the mean of its rows, for `repeat(...)` benchmarks); None for
    a file that is empty or unreadable (a job killed while writing it)."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
    except (OSError, csv.Error, UnicodeDecodeError):
        return None
    if not rows:
        return None
    return Timing(
        statistics.fmean(_number(r.get("s")) for r in rows),
        statistics.fmean(_number(r.get("cpu_time")) for r in rows),
        max(_number(r.get("max_rss")) for r in rows),
    )


def _number(text: str | None) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):  # "NA" when a job was too short to sample
        return 0.0


@dataclass(frozen=True)
class PlannedJob:
    """A job the workflow will run: its rule, its benchmark file and the rule's benchmark
    pattern (`results/benchmarks/train_run/{experiment}/{hash}/seed{seed}.tsv`, without
    wildcard constraints); both None for a rule without `benchmark:` (`all`, `study_*`)."""

    rule: str
    benchmark: str | None
    pattern: str | None
    wildcards: dict[str, str] = field(default_factory=dict)


SOURCES = ("own", "similar", "rule", "unknown")
"""How a job's time was found: its own earlier file, similar jobs, the rule's median, none."""


@dataclass
class Estimate:
    """The planned jobs' summed wall seconds, and how many jobs each source timed."""

    seconds: float = 0.0
    jobs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))

    def wall_seconds(self, parallel: int) -> float:
        """The wall time with `parallel` one-thread jobs at a time: the earlier files were
        written by jobs that shared the machine as these will, so their sum divides by the
        jobs running at once (a lower bound where dependencies leave cores idle)."""
        return self.seconds / max(1, parallel)

    def line(self, parallel: int | None) -> str:
        """What the console shows at the start of a run; `parallel` is the number of jobs
        at once (`--cores`), None where a cluster decides it (the job time only)."""
        total = sum(self.jobs.values())
        if total == self.jobs["unknown"]:
            return f"Time estimate: none ({total} jobs, none of their rules timed here before)"
        own, similar, rule, unknown = (self.jobs[s] for s in SOURCES)
        parts = [f"{own} timed by an earlier run of the same config"]
        if similar:
            parts.append(f"{similar} by other seeds or configs of the same experiment")
        if rule:
            parts.append(f"{rule} by their rule's median")
        if unknown:
            parts.append(f"{unknown} never timed, counted as 0")
        wall = (
            f"about {duration(self.wall_seconds(parallel))} with {parallel} core(s), "
            if parallel
            else ""
        )
        return (
            f"Time estimate: {wall}{duration(self.seconds)} of job time for {total} jobs "
            f"({'; '.join(parts)})"
        )


def estimate(jobs: Iterable[PlannedJob]) -> Estimate:
    """The summed time of `jobs` from the benchmark files on disk (see the module docstring).
    Each rule's files are listed once (one glob of its pattern)."""
    result = Estimate()
    known: dict[str, _RuleTimes] = {}
    for job in jobs:
        if job.pattern is None:
            continue  # a target rule: no work of its own
        times = known.get(job.pattern)
        if times is None:
            times = known[job.pattern] = _RuleTimes.read(job.pattern)
        source, seconds = times.guess(job)
        result.jobs[source] += 1
        result.seconds += seconds
    return result


@dataclass
class _RuleTimes:
    """The benchmark files of one rule pattern: by path, and by identifying wildcards."""

    by_path: dict[str, float]
    by_identity: dict[tuple[tuple[str, str], ...], list[float]]

    @classmethod
    def read(cls, pattern: str) -> _RuleTimes:
        names = re.findall(r"\{(\w+)\}", pattern)
        regex = re.compile(
            "".join(
                f"(?P<{part[1:-1]}>[^/]+)" if re.fullmatch(r"\{\w+\}", part) else re.escape(part)
                for part in re.split(r"(\{\w+\})", pattern)
            )
        )
        glob = re.sub(r"\{\w+\}", "*", pattern)
        by_path, by_identity = {}, defaultdict(list)
        for name in globbed(glob):
            path = Path(name)
            match = regex.fullmatch(path.as_posix())
            timing = read_benchmark(path) if match else None
            if timing is None:
                continue
            by_path[path.as_posix()] = timing.seconds
            by_identity[_identity(match.groupdict(), names)].append(timing.seconds)
        return cls(by_path, by_identity)

    def guess(self, job: PlannedJob) -> tuple[str, float]:
        if job.benchmark in self.by_path:
            return "own", self.by_path[job.benchmark]
        similar = self.by_identity.get(_identity(job.wildcards, list(job.wildcards)))
        if similar:
            return "similar", statistics.fmean(similar)
        if self.by_path:
            return "rule", statistics.median(self.by_path.values())
        return "unknown", 0.0


def _identity(wildcards: dict[str, str], names: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, str(wildcards[k])) for k in names if k not in NOT_IDENTITY))


def duration(seconds: float) -> str:
    """`42 s`, `17 min`, `2 h 05 min`: what a person reads at a glance."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
