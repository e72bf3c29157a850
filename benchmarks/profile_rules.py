"""Where the workflow's time goes, from the benchmark files that Snakemake wrote for every job
that ran here (`results/benchmarks/`): per rule (jobs, summed wall and CPU seconds, largest
resident memory), per experiment for `train_run` and `evaluate_run` (wall seconds summed over
its seeds and their mean), and per study, sorted by cost.

It profiles whatever runs exist, of the pipeline file's current configs only: files of other
configs (a run folder's old hash) and the report rules of other pipeline files are left out
and counted. Nothing is rerun; the times are those of the jobs when they ran, on this machine,
with whatever else it ran then (`mean_load` in the files), so the figures are job times, not
the wall time of one `snakemake` call. Writes `benchmarks/results/profile_rules.json` and the
same tables as `profile_rules.md`.

    python benchmarks/profile_rules.py [--pipeline pipeline.yaml] [--results results]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    RESULTS,
    ROOT,
    RUN_RULES,
    benchmark_files,
    benchmark_sums,
    study_seconds,
    write_result,
)

from methodlib.job_times import duration, read_benchmark
from methodlib.paths import BENCHMARKS, DEFAULT_PIPELINE, HASH, Layout
from methodlib.report.seed_budget import cost_per_seed
from methodlib.spec import Pipeline, load_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pipeline", default=DEFAULT_PIPELINE)
    parser.add_argument("--results", default="results", help="the folder the workflow wrote")
    parser.add_argument(
        "--estimate",
        action="store_true",
        help="print the pipeline's predicted CPU seconds from --profile; run nothing",
    )
    parser.add_argument("--profile", default=str(RESULTS / "profile_rules.json"))
    parser.add_argument("--cores", type=int, default=2, help="for the estimate's wall bound")
    args = parser.parse_args()
    os.chdir(ROOT)  # report folders are named relative to the project
    pipeline = load_pipeline(args.pipeline)
    if args.estimate:
        profile = json.loads(Path(args.profile).read_text())
        layout = Layout(pipeline, args.pipeline)
        print(estimate_text(pipeline_estimate(pipeline, layout, profile), args.cores))
        return
    folder = Path(args.results) / Path(BENCHMARKS).relative_to("results")
    reports = folder / Layout(pipeline, args.pipeline).reports
    if not folder.is_dir():
        raise SystemExit(f"{folder}: no benchmark files (has the workflow run here?)")

    current = current_hashes(pipeline)
    files = list(benchmark_files(folder, reports))
    kept = [(rule, values, path) for rule, values, path in files if is_current(values, current)]
    per_rule = benchmark_sums(folder, reports, keep=lambda _, values: is_current(values, current))
    per_rule = dict(sorted(per_rule.items(), key=lambda item: -item[1]["seconds"]))
    per_experiment = experiment_times(pipeline, kept)
    cores = len(os.sched_getaffinity(0))
    per_study = study_seconds(pipeline, kept, cores)
    timed_runs = sum(e["train_run"]["seeds"] for e in per_experiment.values())
    total = sum(r["seconds"] for r in per_rule.values())
    stamps = [path.stat().st_mtime for _, _, path in kept]

    summary = (
        f"profile_rules: {args.pipeline}, {len(kept)} jobs' benchmark files "
        f"({timed_runs} of {len(pipeline.runs())} runs trained): {duration(total)} of job time; "
        + ", ".join(f"{rule} {duration(r['seconds'])}" for rule, r in list(per_rule.items())[:3])
    )
    path = write_result(
        "profile_rules",
        summary,
        what=__doc__.split("\n\n")[0].replace("\n", " "),
        note=(
            "profiles whatever runs exist in results/ when it is run (not one timed pipeline "
            "run): the files' dates are in benchmark_files, the machine is the one that ran "
            "the jobs and this script"
        ),
        pipeline=args.pipeline,
        benchmark_files={
            "profiled": len(kept),
            "left_out": len(files) - len(kept),
            "left_out_why": "an earlier config of an experiment, dataset or judge",
            "oldest": _date(min(stamps)) if stamps else None,
            "newest": _date(max(stamps)) if stamps else None,
        },
        runs={"planned": len(pipeline.runs()), "trained_here": timed_runs},
        total_job_seconds=round(total, 1),
        per_rule=per_rule,
        per_experiment=per_experiment,
        per_study=per_study,
        target=None,
        met=None,
    )
    markdown = RESULTS / "profile_rules.md"
    markdown.write_text(to_markdown(json.loads(path.read_text())))
    print(f"  tables -> {markdown.relative_to(ROOT)}")


def current_hashes(pipeline: Pipeline) -> set[str]:
    """The config hashes of the pipeline's runs, prepared datasets and judges."""
    return (
        {pipeline.experiment_hash(e) for e in pipeline.experiments}
        | {pipeline.dataset_hash(d) for d in pipeline.datasets}
        | {pipeline.judge_hash(d) for d in pipeline.datasets}
    )


def is_current(values: tuple[str, ...], current: set[str]) -> bool:
    """A file without a config hash among its wildcards (a report rule) is always kept."""
    return all(v in current for v in values if re.fullmatch(HASH, v))


def experiment_times(pipeline: Pipeline, files) -> dict[str, dict[str, Any]]:
    """Per experiment with a timed run: its study, and per run rule the seeds timed, their
    summed and mean wall seconds and summed CPU seconds; sorted by the summed wall time."""
    seconds: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(
        lambda: {rule: [] for rule in RUN_RULES}
    )
    for rule, values, path in files:
        timing = read_benchmark(path)
        if rule in RUN_RULES and timing is not None and values[0] in pipeline.experiments:
            seconds[values[0]][rule].append((timing.seconds, timing.cpu_seconds))
    table = {}
    for experiment, rules in seconds.items():
        table[experiment] = {"study": pipeline.experiments[experiment].study}
        for rule, times in rules.items():
            walls = [wall for wall, _ in times]
            table[experiment][rule] = {
                "seeds": len(times),
                "seconds": round(sum(walls), 1),
                "mean_seconds": round(statistics.fmean(walls), 1) if walls else None,
                "cpu_seconds": round(sum(cpu for _, cpu in times), 1),
            }
    return dict(sorted(table.items(), key=lambda item: -_run_seconds(item[1])))


SHARED = {"train_judge": "judges", "prepare_dataset": "datasets"}
BUDGET_SECONDS = 7200  # issue 32: the default pipeline in two hours of wall time


def pipeline_estimate(pipeline: Pipeline, layout: Layout, profile: dict[str, Any]) -> dict:
    """Predicted CPU seconds of every job of `pipeline`, from a profile record: each planned
    run (`Pipeline.runs`) at its experiment's measured train + evaluate CPU seconds per seed,
    each deep ensemble at its experiment's measured evaluate_group seconds, each judge and
    prepared dataset the pipeline needs at its rule's mean, and the report rules as measured.
    An experiment the profile never timed is priced at the median per seed of its study's
    timed ones (`guessed`), or not at all (`unpriced`: the total is then a lower bound)."""
    costs = {e: c for e, c in cost_per_seed(profile).items() if e in pipeline.experiments}
    measured = {e: profile["per_experiment"][e] for e in costs}
    by_study: dict[str, list[float]] = defaultdict(list)
    for e, cost in costs.items():
        by_study[pipeline.experiments[e].study].append(cost)
    studies: dict[str, dict[str, float]] = defaultdict(lambda: {"runs": 0, "cpu_seconds": 0.0})
    counts = {"priced": 0, "guessed": 0, "unpriced": 0}
    unpriced: list[str] = []
    runs_seconds = groups_seconds = 0.0
    for experiment, _seed in pipeline.runs():
        study = pipeline.experiments[experiment].study
        if experiment in measured:
            cost, how = costs[experiment], "priced"
        elif by_study[study]:
            cost, how = statistics.median(by_study[study]), "guessed"
        else:
            cost, how = 0.0, "unpriced"
            unpriced.append(experiment)
        counts[how] += 1
        studies[study]["runs"] += 1
        studies[study]["cpu_seconds"] += cost
        runs_seconds += cost
    for experiment in pipeline.experiments:
        if pipeline.ensemble_members(experiment) and experiment in measured:
            group = measured[experiment]["evaluate_group"]["cpu_seconds"]
            studies[pipeline.experiments[experiment].study]["cpu_seconds"] += group
            groups_seconds += group
    per_rule = profile["per_rule"]
    planned = {
        "judges": {path for e in pipeline.experiments for path in layout.judge_inputs(e)},
        "datasets": {pipeline.experiments[e].dataset for e in pipeline.experiments},
    }
    shared = {
        what: len(planned[what]) * _mean_cpu(per_rule.get(rule)) for rule, what in SHARED.items()
    }
    reports = sum(
        r["cpu_seconds"] for rule, r in per_rule.items() if rule not in (*RUN_RULES, *SHARED)
    )
    total = runs_seconds + groups_seconds + sum(shared.values()) + reports
    return {
        "profile_created": profile.get("created"),
        "runs": len(pipeline.runs()),
        **counts,
        "unpriced_experiments": sorted(set(unpriced)),
        "judges": len(planned["judges"]),
        "datasets": len(planned["datasets"]),
        "cpu_seconds": {
            "runs": round(runs_seconds, 1),
            "ensembles": round(groups_seconds, 1),
            **{what: round(seconds, 1) for what, seconds in shared.items()},
            "reports": round(reports, 1),
            "total": round(total, 1),
        },
        "per_study": {
            study: {"runs": s["runs"], "cpu_seconds": round(s["cpu_seconds"], 1)}
            for study, s in sorted(studies.items(), key=lambda item: -item[1]["cpu_seconds"])
        },
    }


def _mean_cpu(rule: dict[str, Any] | None) -> float:
    return rule["cpu_seconds"] / rule["jobs"] if rule and rule["jobs"] else 0.0


def estimate_text(estimate: dict[str, Any], cores: int) -> str:
    """The estimate as printed: the total, its parts, a wall-time floor on `cores` (every
    core busy all the time) against the two-hour budget, then one line per study."""
    cpu = estimate["cpu_seconds"]
    floor = cpu["total"] / cores
    lines = [
        f"estimate: {estimate['runs']} runs ({estimate['priced']} priced at their experiment's "
        f"measured CPU per seed, {estimate['guessed']} at their study's median, "
        f"{estimate['unpriced']} unpriced), {estimate['judges']} judges, "
        f"{estimate['datasets']} datasets; profile of {estimate['profile_created']}",
        f"  CPU seconds: {cpu['total']:.0f} ({duration(cpu['total'])}) = runs {cpu['runs']:.0f}"
        f" + ensembles {cpu['ensembles']:.0f} + judges {cpu['judges']:.0f}"
        f" + datasets {cpu['datasets']:.0f} + reports {cpu['reports']:.0f}",
        f"  on {cores} cores at least {floor:.0f} s ({duration(floor)}) of wall time: "
        + ("within" if floor <= BUDGET_SECONDS else "over")
        + f" the {BUDGET_SECONDS} s budget",
    ]
    if estimate["unpriced_experiments"]:
        lines.append("  unpriced (a lower bound): " + ", ".join(estimate["unpriced_experiments"]))
    lines += [
        f"  {study}: {s['runs']} runs, {s['cpu_seconds']:.0f} CPU s"
        for study, s in estimate["per_study"].items()
    ]
    return "\n".join(lines)


def _run_seconds(entry: dict[str, Any]) -> float:
    return sum(entry[rule]["seconds"] for rule in RUN_RULES)


def _date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def to_markdown(record: dict[str, Any]) -> str:
    """The three tables of the JSON record, headed by what was profiled."""
    per_rule, per_study = record["per_rule"], record["per_study"]
    per_experiment = record["per_experiment"]
    files, machine = record["benchmark_files"], record["machine"]
    lines = [
        "# Where the workflow's time goes",
        "",
        f"Written by `benchmarks/profile_rules.py` on {record['created']} from the benchmark "
        f"files of {files['profiled']} jobs of `{record['pipeline']}` that ran here between "
        f"{files['oldest']} and {files['newest']} ({files['left_out']} files of earlier "
        f"configs left out); {record['runs']['trained_here']} of {record['runs']['planned']} "
        f"runs trained. Machine: {machine['usable_cores']} cores, {machine['cpu_model']}, "
        f"torch {machine['torch']}. Job times (wall seconds of each job while it shared the "
        "machine with the jobs beside it), not the wall time of one `snakemake` call.",
        "",
        "## Per rule",
        "",
        "CPU/wall below 1 is a job waiting: for a core (other jobs, other users), for I/O.",
        "",
        "| rule | jobs | wall (s) | wall | CPU (s) | CPU/wall | max RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for rule, r in per_rule.items():
        lines.append(
            f"| {rule} | {r['jobs']:.0f} | {r['seconds']:.0f} | {duration(r['seconds'])} "
            f"| {r['cpu_seconds']:.0f} | {r['cpu_seconds'] / max(r['seconds'], 1e-9):.2f} "
            f"| {r['max_rss_mb']:.0f} |"
        )
    total = sum(r["seconds"] for r in per_rule.values())
    lines += [
        f"| **total** | {sum(r['jobs'] for r in per_rule.values()):.0f} | {total:.0f} "
        f"| {duration(total)} | | | |"
    ]
    lines += [
        "",
        "## Per study",
        "",
        "Its runs' jobs (train_run, evaluate_run, evaluate_group), the prepared data and "
        "judges of its datasets, and the two over the cores: what `study_<name>` takes alone.",
        "",
        f"| study | runs timed | job wall (s) | data and judges (s) "
        f"| alone on {machine['usable_cores']} cores |",
        "|---|---:|---:|---:|---:|",
    ]
    for study, s in per_study.items():
        lines.append(
            f"| {study} | {s['runs_timed']:.0f} of {s['runs']:.0f} | {s['job_seconds']:.0f} "
            f"| {s['shared_seconds']:.0f} | {duration(s['alone_seconds'])} |"
        )
    lines += [
        "",
        "## Per experiment",
        "",
        "| experiment | study | seeds | train wall (s) | train per seed (s) "
        "| evaluate wall (s) | evaluate per seed (s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for experiment, e in per_experiment.items():
        train, evaluate = e["train_run"], e["evaluate_run"]
        lines.append(
            f"| {experiment} | {e['study']} | {train['seeds']} | {train['seconds']:.0f} "
            f"| {_mean(train)} | {evaluate['seconds']:.0f} | {_mean(evaluate)} |"
        )
    return "\n".join(lines) + "\n"


def _mean(entry: dict[str, Any]) -> str:
    return "" if entry["mean_seconds"] is None else f"{entry['mean_seconds']:.0f}"


if __name__ == "__main__":
    main()
