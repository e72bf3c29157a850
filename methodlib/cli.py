"""`methodlib`: the command line that users call (`validate`, `methods`, `schema`) and that the
workflow's rules call (`prepare`, `train`, `train-judge`, `evaluate`, `evaluate-group`,
`aggregate`, `combine`, `plot`, `curves`, `plot-samples`, `plot-inpainting`,
`plot-autoencoder`, `plot-pruning`, `plot-kept`,
`plot-reliability`, `index`), that choose on validation (`select`), that plan, decide and show
the claims (`claims`, `power`, `register`, `claims-page`, `plot-claims-forest`) and that compare
two sets of reports (`compare-reports`). Every command validates the pipeline file with the
same models."""

from __future__ import annotations

import argparse
import json
import os
import sys
import typing
from pathlib import Path

from methodlib.errors import RunError, SpecError
from methodlib.paths import DEFAULT_PIPELINE, PIPELINE_ENV, Layout


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except (SpecError, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="methodlib", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="command")

    def command(name: str, func, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = command("validate", _validate, "check a pipeline file and summarise what it would run")
    p.add_argument("file", nargs="?", default="pipeline.yaml")
    command("methods", _methods, "list registered methods with their config fields and defaults")
    p = command("schema", _schema, "write the JSON schema of pipeline files (for editors)")
    p.add_argument("--out", help="file to write (default: standard output)")

    p = command("prepare", _prepare, "prepare one dataset's splits")
    _pipeline_option(p)
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", help="folder to write (default: data/prepared/<dataset>/<config hash>)")

    p = command("train", _train, "train one run (experiment × seed), resuming if interrupted")
    _pipeline_option(p)
    p.add_argument("--experiment", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", help="run folder (default: results/<experiment>/<hash>/seed<N>)")
    p.add_argument("--data", help="the prepared dataset's folder (default: its place in data/)")
    p.add_argument(
        "--init", help="the run folder `init_from` starts from (default: its place in results/)"
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")

    p = command(
        "train-judge",
        _train_judge,
        "train a dataset's judge: a classifier for images (fid_judge), a language model for text (judge_ppl)",
    )
    p.add_argument("--data", required=True, help="the prepared dataset's folder")
    p.add_argument("--out", required=True, help="model.pt to write")
    p.add_argument(
        "--device",
        help="auto (CUDA when present), cpu, cuda[:k] (default: the pipeline's defaults.device)",
    )
    _pipeline_option(p)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")

    p = command("evaluate", _evaluate, "compute a finished run's metrics.json")
    p.add_argument("--run", required=True)
    p.add_argument("--judge", help="the dataset's judge (image and text generation runs)")
    p.add_argument("--data", help="the prepared dataset's folder (text runs)")

    p = command(
        "evaluate-group", _evaluate_group, "evaluate a deep ensemble of an experiment's runs"
    )
    p.add_argument("--experiment", required=True)
    p.add_argument("--out", required=True, help="the group's metrics.json")
    p.add_argument("--curve", required=True, help="the ensemble-size curve (CSV)")
    p.add_argument("predictions", nargs="+", help="predictions.npz of each member, in order")

    p = command("aggregate", _aggregate, "tidy table of a set of runs' metrics")
    _pipeline_option(p)
    p.add_argument("--study", help="add the study's deep-ensemble equivalents (dee_reference)")
    p.add_argument("--out", required=True)
    p.add_argument("metrics", nargs="*")

    p = command("combine", _combine, "concatenate tidy tables; write the DVC metrics folder")
    _pipeline_option(p)
    p.add_argument("--out-csv", required=True)
    p.add_argument("--out-metrics", required=True, help="the DVC metrics folder")
    p.add_argument("--out-curves", help="the metric-against-samples rows (reports/curves.csv)")
    p.add_argument("tables", nargs="*")

    p = command("plot", _plot, "draw one report figure")
    _pipeline_option(p)
    p.add_argument("--figure", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--out", required=True)

    p = command("curves", _curves, "draw an experiment's training curves")
    p.add_argument("--experiment", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("logs", nargs="+", help="train_log.csv of each seed (run folders seed<N>)")

    # commands that draw one experiment's first-seed predictions
    for name, func, text in (
        ("plot-samples", _plot_samples, "draw generated samples next to test data"),
        ("plot-inpainting", _plot_inpainting, "draw an imputation run's imputations"),
        ("plot-ponder", _plot_ponder, "draw an adaptive run's ponder maps"),
        ("word-table", _word_table, "tabulate a text classifier's top kept words"),
    ):
        p = command(name, func, text)
        p.add_argument("--experiment", required=True)
        p.add_argument("--out", required=True)
        p.add_argument("predictions", help="predictions.npz of the experiment's first seed")

    p = command("sample-table", _sample_table, "tabulate a text run's generated texts")
    p.add_argument("--experiment", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("predictions", help="predictions.npz of the experiment's first seed")

    p = command(
        "plot-autoencoder", _plot_autoencoder, "draw an autoencoder's reconstructions and paths"
    )
    _pipeline_option(p)
    p.add_argument("--experiment", required=True)
    p.add_argument("--data", required=True, help="the prepared dataset's folder")
    p.add_argument("--out", required=True)
    p.add_argument("predictions", help="predictions.npz of the experiment's first seed")
    p.add_argument("model", help="model.pt of the same run")

    p = command("plot-pruning", _plot_pruning, "histograms of a pruning run's log α or SNR")
    _pipeline_option(p)
    p.add_argument("--experiment", required=True)
    p.add_argument("--data", required=True, help="the prepared dataset's folder")
    p.add_argument("--out", required=True)
    p.add_argument("models", nargs="+", help="model.pt of each seed")

    p = command("plot-kept", _plot_kept, "kept neurons/channels per layer of a study")
    _pipeline_option(p)
    p.add_argument("--study", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--out", required=True)

    for name, handler, about in (
        ("plot-reliability", _plot_reliability, "reliability diagrams of a study"),
        ("plot-risk-coverage", _plot_risk_coverage, "risk–coverage curves of a study"),
    ):
        p = command(name, handler, about)
        _pipeline_option(p)
        p.add_argument("--study", required=True)
        p.add_argument("--out", required=True)
        p.add_argument("metrics", nargs="+", help="metrics.json of the runs to draw")

    p = command(
        "select",
        _select,
        "choose a selection's member by its validation score: reports/selections/<name>.json",
    )
    _pipeline_option(p)
    p.add_argument("--selection", required=True)
    p.add_argument("--out", help="the record (default: reports/selections/<name>.json)")
    p.add_argument(
        "logs",
        nargs="*",
        help="train_log.csv of every seed of every member, checked against the pipeline "
        "(default: their places in results/)",
    )

    p = command("claims", _claims, "decide the pipeline's claims by their tests: claims.json")
    _pipeline_option(p)
    p.add_argument("--metrics", required=True, help="the tidy table (reports/metrics.csv)")
    p.add_argument(
        "--lock",
        help="the claims' registrations (default: claims.lock beside the pipeline file; "
        "without one every claim is exploratory)",
    )
    _selections_option(p)
    p.add_argument("--out", required=True)

    p = command(
        "register",
        _register,
        "register the claims' designs in claims.lock before their confirmatory runs",
    )
    _pipeline_option(p)
    p.add_argument("--lock", help="the lock to write (default: claims.lock beside the pipeline)")
    p.add_argument(
        "--metrics",
        help="the tidy table whose rows at confirmatory seeds are results "
        "(default: the pipeline's reports/metrics.csv)",
    )
    p.add_argument(
        "--amend",
        metavar="WHY",
        help="declare a change made after results (or a registration over them) and its reason",
    )
    p.add_argument("claims", nargs="*", metavar="CLAIM", help="claims to register (default: all)")

    p = command(
        "power",
        _power,
        "plan each claim's seeds from its pilot runs (never its confirmatory seeds): "
        "a table and reports/power/STUDY.json",
    )
    _pipeline_option(p)
    p.add_argument("study", help="the study whose claims to plan")
    p.add_argument("--metrics", help="the tidy table (default: <reports>/metrics.csv)")
    p.add_argument("--out", help="the plan's JSON (default: <reports>/power/<study>.json)")
    _selections_option(p)

    p = command(
        "seed-budget",
        _seed_budget,
        "which claims a CPU budget can power, from the pilot plans (reports/power/*.json) and "
        "each experiment's seconds per seed (profile_rules.json): a table and a JSON plan",
    )
    _pipeline_option(p)
    p.add_argument("--plans", help="the folder of plans (default: <reports>/power)")
    p.add_argument(
        "--profile",
        nargs="+",
        default=["benchmarks/results/profile_rules.json"],
        help="per-experiment CPU seconds (benchmarks/profile_rules.py); with several, an "
        "experiment's cost comes from the first that timed it (a fresh profile of the studies "
        "rerun, then an older one of the rest)",
    )
    p.add_argument(
        "--wall-seconds", type=float, default=7200.0, help="the wall-time budget of one run"
    )
    p.add_argument("--cores", type=int, default=2, help="the cores that run the jobs")
    p.add_argument(
        "--utilisation",
        type=float,
        default=0.85,
        help="the share of cores × wall that jobs' CPU seconds fill (the rest: start-up, "
        "report rules, a core waiting at the end)",
    )
    p.add_argument(
        "--floor",
        type=int,
        default=None,
        help="start every experiment that runs the pipeline's seeds at this many (at least 2) "
        "and let claims buy the rest; an experiment with its own seeds keeps their count "
        "(default: the pipeline's seeds are the base)",
    )
    p.add_argument(
        "--first-seed",
        type=int,
        default=100,
        help="the first confirmatory seed (above every pilot seed, so pilots decide nothing)",
    )
    p.add_argument("--out", help="the allocation's JSON (default: <reports>/power/budget.json)")

    p = command(
        "compare-reports",
        _compare_reports,
        "compare two sets of reports: every metric's shift in units of its seed spread, "
        "every verdict that differs",
    )
    p.add_argument("a", nargs="?", metavar="A", help="a reports folder (left out with --git)")
    p.add_argument("b", metavar="B", help="a reports folder; with --git, a folder or a commit")
    p.add_argument(
        "--git",
        metavar="REV",
        help="A is commit REV's reports (git show, no checkout): `--git HEAD reports/` compares "
        "the committed reports with the work tree's",
    )
    p.add_argument(
        "--in-commit",
        metavar="PATH",
        help="the reports folder inside the commits, from the repository's root (default: B's "
        "path when B is a folder of the repository, else reports)",
    )
    p.add_argument(
        "--threshold", type=float, default=2.0, metavar="K", help="flag |z| above K (default 2)"
    )
    p.add_argument(
        "--top",
        type=int,
        metavar="N",
        help="show the N rows of largest |z| (default: every flagged one)",
    )
    p.add_argument(
        "--out", metavar="FILE.md", help="the Markdown page to write (it is printed either way)"
    )
    p.add_argument("--json", metavar="FILE.json", help="the full comparison, every row")

    p = command("claims-page", _claims_page, "write the claims page from claims.json")
    p.add_argument("--claims", required=True)
    p.add_argument("--out", required=True, help="claims.md")
    p.add_argument("--html", help="the same table as HTML, for `snakemake --report`")
    p.add_argument("--forest", help="the forest plot that opens the page (claims_forest.png)")

    p = command(
        "plot-claims-forest", _plot_claims_forest, "draw every claim's comparisons as a forest plot"
    )
    p.add_argument("--claims", required=True, help="claims.json")
    p.add_argument("--out", required=True, help="the PNG to write")

    p = command("index", _index, "write reports/index.md")
    _pipeline_option(p)
    p.add_argument("--metrics", required=True)
    p.add_argument("--claims", help="claims.json: its table opens the page")
    _selections_option(p)
    p.add_argument("--out", required=True)
    return parser


def _pipeline_option(parser: argparse.ArgumentParser) -> None:
    """`--pipeline`; the workflow's jobs take it from the environment (`paths.PIPELINE_ENV`,
    set by rules/common.smk), so that no job's params or command line names the file."""
    parser.add_argument(
        "--pipeline",
        default=os.environ.get(PIPELINE_ENV, DEFAULT_PIPELINE),
        help=f"the pipeline file (default: ${PIPELINE_ENV}, else {DEFAULT_PIPELINE})",
    )


def _selections_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--selections",
        nargs="*",
        help="the selections' records (default: those of the pipeline's reports that exist)",
    )


def _selection_records(pipeline, args) -> dict:
    """The selections' records by name: the files given, else those already written."""
    from methodlib.selection import read_selections

    files = args.selections
    if files is None:
        files = [f for f in Layout(pipeline, args.pipeline).selections() if Path(f).exists()]
    return read_selections(files)


def _load(path: str):
    from methodlib.spec import load_pipeline

    return load_pipeline(path)


def _validate(args) -> None:
    pipeline = _load(args.file)
    print(f"{args.file}: valid")
    print(f"  datasets:    {len(pipeline.datasets)} ({', '.join(pipeline.datasets)})")
    print(f"  experiments: {len(pipeline.experiments)}")
    print(f"  runs:        {len(pipeline.runs())} (experiment × seed)")
    for study in pipeline.study_names():
        claims = sum(c.study == study for c in pipeline.claims.values())
        print(
            f"  study {study}: {len(pipeline.experiments_in(study))} experiment(s), "
            f"{len(pipeline.figures_in(study))} figure(s), {claims} claim(s)"
        )


def _methods(args) -> None:
    from methodlib.methods import METHODS

    for name, cls in METHODS.items():
        doc = (sys.modules[cls.__module__].__doc__ or "").strip().splitlines()[0]
        print(f"{name}  [{cls.task}]  {doc}")
        for field, info in cls.Config.model_fields.items():
            if field == "name":
                continue
            default = "required" if info.is_required() else f"default {info.default!r}"
            print(f"    {field}: {_type_name(info.annotation)} ({default})")
            if info.description:
                print(f"        {info.description}")


def _type_name(annotation) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


def _schema(args) -> None:
    from methodlib.spec import Pipeline

    text = json.dumps(Pipeline.model_json_schema(), indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)


def _prepare(args) -> None:
    from methodlib.data import prepare_dataset

    pipeline = _load(args.pipeline)
    if args.dataset not in pipeline.datasets:
        raise RunError(f"dataset {args.dataset!r} is not defined in {args.pipeline}")
    out = args.out or Layout(pipeline).prepared(args.dataset)
    meta = prepare_dataset(args.dataset, pipeline.datasets[args.dataset], out)
    print(f"{args.dataset}: {meta['sizes']} -> {out}")


def _train(args) -> None:
    import torch

    from methodlib.gpu_slots import claim_gpu
    from methodlib.train import train_run

    if args.threads:
        torch.set_num_threads(args.threads)
    pipeline = _load(args.pipeline)
    if args.experiment not in pipeline.experiments:
        raise RunError(f"experiment {args.experiment!r} is not defined in {args.pipeline}")
    claim_gpu(pipeline.device_of(args.experiment))  # a GPU of its own, held until the job ends
    exp, layout = pipeline.experiments[args.experiment], Layout(pipeline)
    train_run(
        pipeline,
        args.experiment,
        args.seed,
        args.out or layout.run_dir(args.experiment, args.seed),
        data_dir=args.data or layout.prepared(exp.dataset),
        init_dir=args.init or (exp.init_from and layout.run_dir(exp.init_from, args.seed)),
        progress=True,
    )


def _train_judge(args) -> None:
    import torch

    from methodlib.gpu_slots import claim_gpu
    from methodlib.judge import train_judge

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or _load(args.pipeline).defaults.device
    claim_gpu(device)  # as `train` does: a GPU of its own, held until the job ends
    record = train_judge(args.data, args.out, device=device)
    score = (
        f"test perplexity {record['test_ppl']:.2f}"
        if "test_ppl" in record
        else f"validation accuracy {record['val_accuracy']:.4f}"
    )
    print(f"judge of {record['dataset']}: {score}")


def _evaluate(args) -> None:
    from methodlib.evaluate import evaluate_run

    evaluate_run(args.run, judge=args.judge, data=args.data)


def _evaluate_group(args) -> None:
    from methodlib.evaluate_group import evaluate_group

    evaluate_group(args.experiment, args.predictions, args.out, args.curve)


def _aggregate(args) -> None:
    from methodlib.report.tables import add_dee, tidy_from_runs, write_csv

    pipeline = _load(args.pipeline)
    frame = tidy_from_runs(pipeline, args.metrics)
    if args.study:
        frame = add_dee(pipeline, args.study, frame)
    write_csv(frame, args.out)


def _combine(args) -> None:
    from methodlib.report.combine import combine

    combine(_load(args.pipeline), args.tables, args.out_csv, args.out_metrics, args.out_curves)


def _plot(args) -> None:
    from methodlib.report.plots import plot_figure

    plot_figure(_load(args.pipeline), args.figure, args.metrics, args.out)


def _curves(args) -> None:
    from methodlib.report.plots import plot_curves

    logs = {Path(path).parent.name: path for path in args.logs}
    plot_curves(args.experiment, logs, args.out)


def _plot_samples(args) -> None:
    from methodlib.report.sample_plots import plot_samples

    plot_samples(args.experiment, args.predictions, args.out)


def _plot_inpainting(args) -> None:
    from methodlib.report.inpainting_plots import plot_inpainting

    plot_inpainting(args.experiment, args.predictions, args.out)


def _plot_ponder(args) -> None:
    from methodlib.report.ponder_plots import plot_ponder_maps

    plot_ponder_maps(args.experiment, args.predictions, args.out)


def _sample_table(args) -> None:
    from methodlib.report.sample_tables import sample_table

    sample_table(args.experiment, args.predictions, args.out)


def _word_table(args) -> None:
    from methodlib.report.word_tables import word_table

    word_table(args.experiment, args.predictions, args.out)


def _plot_autoencoder(args) -> None:
    from methodlib.report.autoencoder_plots import plot_autoencoder

    pipeline = _load(args.pipeline)
    plot_autoencoder(pipeline, args.experiment, args.predictions, args.model, args.out, args.data)


def _plot_pruning(args) -> None:
    from methodlib.report.pruning_plots import plot_unit_statistics

    pipeline = _load(args.pipeline)
    plot_unit_statistics(pipeline, args.experiment, args.models, args.out, args.data)


def _plot_kept(args) -> None:
    from methodlib.report.pruning_plots import plot_kept_fraction

    plot_kept_fraction(_load(args.pipeline), args.study, args.metrics, args.out)


def _plot_reliability(args) -> None:
    from methodlib.report.uncertainty_plots import plot_reliability

    plot_reliability(_load(args.pipeline), args.study, args.metrics, args.out)


def _plot_risk_coverage(args) -> None:
    from methodlib.report.uncertainty_plots import plot_risk_coverage

    plot_risk_coverage(_load(args.pipeline), args.study, args.metrics, args.out)


def _select(args) -> None:
    from methodlib.selection import check_inputs, write_selection

    pipeline = _load(args.pipeline)
    name = args.selection
    if name not in pipeline.selections:
        raise RunError(
            f"{args.pipeline}: no selection {name!r} (it has "
            f"{', '.join(pipeline.selections) or 'none'})"
        )
    layout = Layout(pipeline, args.pipeline)
    logs = layout.selection_logs(name)
    if args.logs:
        check_inputs(name, logs, args.logs)
    out = args.out or layout.selection(name)
    record = write_selection(name, pipeline.selections[name], logs, out)
    print(f"{name}: chose {record['chosen']} on {record['by']} ({record['better']} is better)")


def _claims(args) -> None:
    from methodlib.paths import lock_file
    from methodlib.report.claims import write_claims

    lock = args.lock or lock_file(args.pipeline)
    pipeline = _load(args.pipeline)
    selections = _selection_records(pipeline, args)
    data = write_claims(pipeline, args.metrics, args.out, lock, selections)
    for record in data["claims"]:
        print(f"{record['verdict']:>12}  {record['name']}: {record['statement']}")


def _register(args) -> None:
    import pandas as pd

    from methodlib.report import registration
    from methodlib.report.tables import COLUMNS, read_tidy

    pipeline = _load(args.pipeline)
    lock_path = Path(args.lock or Layout(pipeline, args.pipeline).lock)
    metrics = Path(args.metrics or Layout(pipeline, args.pipeline).report("metrics.csv"))
    if metrics.exists():
        tidy = read_tidy(metrics)
    else:
        print(f"{metrics} does not exist: no claim has results yet")
        tidy = pd.DataFrame(columns=COLUMNS)
    stamp = registration.git_stamp(lock_path.parent, exclude=lock_path)
    lock, lines = registration.register(
        pipeline,
        registration.read_lock(lock_path),
        tidy,
        stamp,
        names=args.claims or None,
        amend=args.amend,
        pipeline_file=args.pipeline,
    )
    print("\n".join(lines))
    written = registration.write_lock(lock_path, lock)
    print(f"{'wrote' if written else 'unchanged:'} {lock_path} ({len(lock)} claims)")


def _power(args) -> None:
    from methodlib.paths import reports_dir
    from methodlib.report.seed_plan import plan_table, write_plan

    reports = reports_dir(args.pipeline)
    metrics = args.metrics or f"{reports}/metrics.csv"
    out = args.out or f"{reports}/power/{args.study}.json"
    pipeline = _load(args.pipeline)
    selections = _selection_records(pipeline, args)
    plan = write_plan(pipeline, args.study, metrics, out, selections)
    print(plan_table(plan))
    print(f"wrote {out}")


def _seed_budget(args) -> None:
    from methodlib.io import write_json
    from methodlib.paths import reports_dir
    from methodlib.report import seed_budget

    pipeline = _load(args.pipeline)
    folder = args.plans or f"{reports_dir(args.pipeline)}/power"
    plans = seed_budget.read_plans(folder)
    seed_budget.check_first_seed(plans, args.first_seed)
    profiles = [json.loads(Path(profile).read_text()) for profile in args.profile]
    costs = seed_budget.costs_from(profiles)
    base = seed_budget.base_seeds(pipeline, args.floor)
    budget = args.wall_seconds * args.cores * args.utilisation
    allocation = seed_budget.allocate(seed_budget.claim_needs(pipeline, plans), base, costs, budget)
    print(seed_budget.budget_table(allocation))
    out = args.out or f"{folder}/budget.json"
    write_json(out, seed_budget.allocation_record(allocation, args))
    print(f"wrote {out}")


def _compare_reports(args) -> None:
    from methodlib.report import compare

    names = [name for name in (args.a, args.b) if name is not None]
    a, b = compare.read_sides(names, args.git, args.in_commit)
    result = compare.compare_reports(a, b, args.threshold)
    print(compare.write_comparison(result, args.out, args.json, args.top), end="")


def _claims_page(args) -> None:
    from methodlib.report.claims_page import write_claims_page

    write_claims_page(args.claims, args.out, args.html, args.forest)


def _plot_claims_forest(args) -> None:
    from methodlib.report.claims_forest import plot_claims_forest

    rows = plot_claims_forest(args.claims, args.out)
    print(f"{args.out}: {len(rows)} rows")


def _index(args) -> None:
    from methodlib.report.index import write_index

    pipeline = _load(args.pipeline)
    selections = _selection_records(pipeline, args)
    write_index(pipeline, args.metrics, args.out, args.claims, selections)


if __name__ == "__main__":
    sys.exit(main())
