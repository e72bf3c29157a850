"""Turn off Snakemake's job rate limiter for a local run that left it at Snakemake's default.

Why: the limiter (`--max-jobs-per-timespan`, default 100/1s) exists to spare a cluster's
scheduler from a flood of submissions. On a local run it only costs: every scheduling round
re-arms a timer of one timespan, and every finished job starts one more such chain of rounds, so
after N jobs Snakemake re-selects jobs about N times a second, each round checking the inputs of
every ready job. Measured on the default pipeline (2 cores, ~300 ready jobs): the Snakemake
process used 25.6 CPU-minutes in 77 minutes, a third of a core taken from the training jobs.
Without the limiter Snakemake selects jobs only when one starts or ends, which is all a local
run needs. A longer timespan in a profile is no substitute: it only slows the rounds, and the
last pending timer (a non-daemon thread) keeps Snakemake alive up to one timespan after its
last job.

A user who sets `--max-jobs-per-timespan` to anything but the default keeps it, and so does any
cluster run (the SLURM profile relies on it). Reaches into `workflow.scheduler`, which Snakemake
builds before `onstart` runs; where a future Snakemake moves it, the run keeps the limiter and
says so.
"""

from __future__ import annotations

from typing import Any

SNAKEMAKE_DEFAULT = (100, 1)  # --max-jobs-per-timespan 100/1s: (max_jobs, timespan in seconds)


def drop_default_rate_limiter(workflow: Any) -> str:
    """Remove the job rate limiter from a local run's scheduler if it is Snakemake's default;
    return a line saying what was done, for the console."""
    if not workflow.local_exec:
        return "Job rate limiter: kept (cluster run)."
    scheduler = getattr(workflow, "scheduler", None)
    if not hasattr(scheduler, "job_rate_limiter"):
        return "Job rate limiter: kept (this Snakemake has no scheduler.job_rate_limiter)."
    limiter = scheduler.job_rate_limiter
    if limiter is None:
        return "Job rate limiter: none."
    if (limiter.max_jobs, limiter.timespan) != SNAKEMAKE_DEFAULT:
        return (
            f"Job rate limiter: kept ({limiter.max_jobs} jobs per {limiter.timespan:g} s, as set)."
        )
    scheduler.job_rate_limiter = None
    return "Job rate limiter: off for this local run (jobs are picked when one starts or ends)."
