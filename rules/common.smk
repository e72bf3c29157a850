"""Pipeline loading, target lists and input functions shared by all rules: thin glue over
`methodlib.paths`, which says where every artifact lives (see its docstring for why paths
carry config hashes)."""

import json
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError

from methodlib import paths
from methodlib.errors import SpecError
from methodlib.paths import Layout
from methodlib.report.pruning_targets import (
    histogram_path,
    kept_fraction_path,
    pruning_figures,
)
from methodlib.spec import NAME_PATTERN, load_pipeline, trigger_fields


def pipeline_file():
    """The pipeline file: the last `--configfile`, else pipeline.yaml. Snakemake's own `config`
    deep-merges config files, which would mix two pipelines' experiments; we read the file
    ourselves with the project's validator instead. The path reaches the jobs' command lines
    only, never their params: a run's identity is its resolved config, not the file's name."""
    if workflow.overwrite_configfiles:
        path = Path(workflow.overwrite_configfiles[-1])
        return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)
    return config.get("pipeline", paths.DEFAULT_PIPELINE)


PIPELINE_FILE = pipeline_file()
ENV = "../envs/methodlib.yaml"  # used with --use-conda; relative to rules/
try:
    PIPELINE = load_pipeline(PIPELINE_FILE)
except SpecError as exc:
    raise WorkflowError(str(exc)) from None
LAYOUT = Layout(PIPELINE, PIPELINE_FILE)
REPORTS = LAYOUT.reports
REPORT_LOGS = f"{paths.LOGS}/{REPORTS}"
REPORT_BENCHMARKS = f"{paths.BENCHMARKS}/{REPORTS}"
RUN = paths.RUN
GROUP = paths.GROUP

_NAME = NAME_PATTERN.strip("^$")


wildcard_constraints:
    experiment=_NAME,
    dataset=_NAME,
    study=_NAME,
    figure=_NAME,
    seed=r"\d+",
    hash=paths.HASH,


def output_dir(wildcards, output):
    """The run folder of a job, from its first output (lint: no hard-coded prefixes)."""
    return os.path.dirname(output[0])


def input_dir(wildcards, input):
    return os.path.dirname(input[0])


def current_experiment(wildcards):
    """The experiment of a run path, if the path's hash is its config's hash today; a path of
    an older config is not something this pipeline can rebuild."""
    name = wildcards.experiment
    if name not in PIPELINE.experiments:
        raise WorkflowError(f"{name!r} is not an experiment of {PIPELINE_FILE}")
    if wildcards.hash != PIPELINE.experiment_hash(name):
        raise WorkflowError(
            f"results/{name}/{wildcards.hash} is not the current config of {name!r} in "
            f"{PIPELINE_FILE} (that is {PIPELINE.experiment_hash(name)})"
        )
    return name


def current_dataset(wildcards):
    name = wildcards.dataset
    if name not in PIPELINE.datasets or wildcards.hash != PIPELINE.dataset_hash(name):
        raise WorkflowError(f"{name}/{wildcards.hash} is not a dataset config of {PIPELINE_FILE}")
    return name


# Input and params functions. Params carry the resolved config of what a job depends on (its
# path carries the config's hash), so editing one experiment reruns that experiment and the
# reports, nothing else.


def dataset_config(wildcards):
    return json.dumps(trigger_fields(PIPELINE.datasets[current_dataset(wildcards)]), sort_keys=True)


def experiment_config(wildcards):
    return json.dumps(PIPELINE.resolved_experiment(current_experiment(wildcards)), sort_keys=True)


def prepared_data(wildcards):
    """The run's prepared dataset. `ancient`: the data's identity is its path (its config's
    hash), so a timestamp DVC rewrites retrains nothing, while a new config is a new path,
    prepared and trained on in the same call."""
    dataset = PIPELINE.experiments[current_experiment(wildcards)].dataset
    return ancient(LAYOUT.prepared(dataset))


def init_weights(wildcards):
    source = PIPELINE.experiments[current_experiment(wildcards)].init_from
    return [f"{LAYOUT.run_dir(source, wildcards.seed)}/model.pt"] if source else []


def init_option(wildcards, input):
    return f"--init {os.path.dirname(input.init[0])}" if input.init else ""


def judge_model(wildcards):
    """The judge of the run's dataset, for the tasks that score runs with one."""
    return LAYOUT.judge_inputs(current_experiment(wildcards))


def judge_option(wildcards, input):
    return f"--judge {input.judge}" if input.judge else ""


def text_data(wildcards):
    """The prepared data, for the tasks whose evaluation reads it (text: `memorization`)."""
    return [ancient(d) for d in LAYOUT.evaluation_data(current_experiment(wildcards))]


def data_option(wildcards, input):
    return f"--data {input.data}" if input.data else ""


def judge_data(wildcards):
    return ancient(LAYOUT.prepared(current_dataset(wildcards)))


def first_seed_predictions(wildcards):
    return f"{LAYOUT.first_run(wildcards.experiment)}/predictions.npz"


def first_seed_model(wildcards):
    return f"{LAYOUT.first_run(wildcards.experiment)}/model.pt"


def experiment_data(wildcards):
    return ancient(LAYOUT.prepared(PIPELINE.experiments[wildcards.experiment].dataset))


def study_run_metrics(wildcards):
    experiments = PIPELINE.reported_experiments(wildcards.study)
    return LAYOUT.run_metrics(experiments) + LAYOUT.group_metrics(experiments)


def reliability_runs(wildcards):
    """The first seed's metrics of each of the study's experiments."""
    experiments = PIPELINE.reported_experiments(wildcards.study)
    return [f"{LAYOUT.first_run(e)}/metrics.json" for e in experiments]


def ensemble_members(wildcards):
    experiment = current_experiment(wildcards)
    return [
        f"{LAYOUT.run_dir(experiment, s)}/predictions.npz"
        for s in PIPELINE.ensemble_members(experiment)
    ]


def study_tables(wildcards):
    return [LAYOUT.study_table(s) for s in LAYOUT.studies_with_runs()]


def figure_config(wildcards):
    return json.dumps(PIPELINE.reports[wildcards.figure].model_dump(mode="json"), sort_keys=True)


def figure_caption(wildcards):
    return PIPELINE.reports[wildcards.figure].caption or wildcards.figure


def figure_logs(wildcards):
    """The training logs an `epochs` figure reads: every run of its study's experiments."""
    if PIPELINE.reports[wildcards.figure].kind != "epochs":
        return []
    experiments = PIPELINE.reported_experiments(wildcards.study)
    return [f for e in experiments for f in LAYOUT.run_files(e, "train_log.csv")]


def experiment_logs(wildcards):
    return LAYOUT.run_files(wildcards.experiment, "train_log.csv")


def experiment_models(wildcards):
    return LAYOUT.run_files(wildcards.experiment, "model.pt")


def all_figures(wildcards):
    return LAYOUT.all_figures()


def _pruning_caption(study, path):
    return next(c for _, p, c in pruning_figures(PIPELINE, study) if p == path)


def histogram_caption(wildcards):
    study = PIPELINE.experiments[wildcards.experiment].study
    return _pruning_caption(study, histogram_path(wildcards.experiment))


def kept_fraction_caption(wildcards):
    return _pruning_caption(wildcards.study, kept_fraction_path(wildcards.study))
