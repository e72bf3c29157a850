"""What the console shows beside Snakemake's "N of M steps": at the start, the planned jobs'
estimated time from the benchmark files of earlier runs (`methodlib.job_times`); on a failure,
each failed job's log path and last lines (`methodlib.failed_logs`), where `show-failed-logs`
would print whole training logs (profiles/default turns that off; the SLURM profile keeps
it, for SLURM's own logs of a job that the cluster killed). Neither handler may stop or fail
the workflow.

`onstart` also turns off Snakemake's default job rate limiter for a local run: its timers
cost the default pipeline a third of a core (`methodlib.rate_limiter` says why)."""

from snakemake.io import strip_wildcard_constraints
from snakemake.logging import logger

from methodlib.failed_logs import failed_logs_message
from methodlib.job_times import PlannedJob, estimate
from methodlib.rate_limiter import drop_default_rate_limiter


def planned_job(job):
    pattern = job.rule.benchmark
    return PlannedJob(  # positional: `rule=` would be Snakemake's keyword in a .smk file
        job.rule.name,
        str(job.benchmark) if job.benchmark is not None else None,
        strip_wildcard_constraints(str(pattern)) if pattern is not None else None,
        dict(job.wildcards_dict),
    )


onstart:
    try:
        logger.info(drop_default_rate_limiter(workflow))
    except Exception as exc:  # a speed-up: never the reason a run fails
        logger.info(f"Job rate limiter: kept ({type(exc).__name__}: {exc})")
    try:
        parallel = workflow._cores if workflow.local_exec else None
        jobs = [planned_job(job) for job in workflow.dag.needrun_jobs()]
        logger.info(estimate(jobs).line(parallel))
    except Exception as exc:  # an estimate is a courtesy: never the reason a run fails
        logger.info(f"Time estimate: unavailable ({type(exc).__name__}: {exc})")


onerror:
    try:
        if workflow.output_settings.show_failed_logs:
            return  # Snakemake printed the whole logs (the SLURM profile, for its own logs)
        failed = getattr(workflow.scheduler, "failed", ())
        logs = [str(path) for job in failed for path in job.log]
        if logs:
            logger.error(f"Failed jobs' logs:\n{failed_logs_message(logs)}")
    except Exception as exc:
        logger.error(f"(could not read the failed jobs' logs: {type(exc).__name__}: {exc})")
