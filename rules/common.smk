"""Pipeline loading, target lists and input functions shared by all rules."""

import json
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError

from methodlib.errors import SpecError
from methodlib.methods import method_config
from methodlib.report.pruning_targets import (
    histogram_path,
    kept_fraction_path,
    pruning_figures,
)
from methodlib.spec import NAME_PATTERN, load_pipeline, trigger_fields


def pipeline_file():
    """The pipeline file: the last `--configfile`, else pipeline.yaml. Snakemake's own `config`
    deep-merges config files, which would mix two pipelines' experiments; we read the file
    ourselves with the project's validator instead."""
    if workflow.overwrite_configfiles:
        path = Path(workflow.overwrite_configfiles[-1])
        # relative where it can be: an absolute path in the jobs' params would rerun every job
        # of a project that moved to another folder
        return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)
    return config.get("pipeline", "pipeline.yaml")


PIPELINE_FILE = pipeline_file()
ENV = "../envs/methodlib.yaml"  # used with --use-conda; relative to rules/
try:
    PIPELINE = load_pipeline(PIPELINE_FILE)
except SpecError as exc:
    raise WorkflowError(str(exc)) from None

_NAME = NAME_PATTERN.strip("^$")


wildcard_constraints:
    experiment=_NAME,
    dataset=_NAME,
    study=_NAME,
    figure=_NAME,
    seed=r"\d+",


def output_dir(wildcards, output):
    """The run folder of a job, from its first output (lint: no hard-coded prefixes)."""
    return os.path.dirname(output[0])


def input_dir(wildcards, input):
    return os.path.dirname(input[0])


def run_dir(experiment, seed):
    return f"results/{experiment}/seed{seed}"


def run_metrics(experiments):
    return [
        f"{run_dir(e, s)}/metrics.json" for e in experiments for s in PIPELINE.seeds_of(e)
    ]


def group_metrics(experiments):
    """The deep-ensemble evaluations of the experiments that ask for one."""
    return [
        f"results/{e}/group/metrics.json" for e in experiments if PIPELINE.ensemble_members(e)
    ]


def figure_files(study):
    return [f"reports/figures/{study}/{f}.png" for f in PIPELINE.figures_in(study)]


def curve_files(experiments):
    return [f"reports/curves/{e}.png" for e in experiments]


def judged(experiment):
    """Generation on images or text: evaluated with the dataset's judge too (`fid_judge`,
    `judge_ppl`)."""
    exp = PIPELINE.experiments[experiment]
    task = method_config(exp.method.name).task
    images = task == "generation" and PIPELINE.datasets[exp.dataset].source != "synthetic"
    return images or task == "text"


def text_experiment(experiment):
    return method_config(PIPELINE.experiments[experiment].method.name).task == "text"


def sample_files(experiments):
    """Sample figures of the generation experiments, sample tables of the text ones."""
    suffix = {"generation": "png", "text": "md"}
    tasks = {e: method_config(PIPELINE.experiments[e].method.name).task for e in experiments}
    return [f"reports/samples/{e}.{suffix[t]}" for e, t in tasks.items() if t in suffix]


def autoencoder_files(experiments):
    """Reconstruction and interpolation figures of the experiments whose method reconstructs."""
    return [
        f"reports/autoencoders/{e}.png"
        for e in experiments
        if method_config(PIPELINE.experiments[e].method.name).reconstructs
    ]


def pruning_files(study):
    return [f"reports/{path}" for _, path, _ in pruning_figures(PIPELINE, study)]


def reliability_files(study):
    spec = PIPELINE.studies.get(study)
    return [f"reports/reliability/{study}.png"] if spec and spec.reliability else []


def studies_with_runs():
    return [s for s in PIPELINE.study_names() if PIPELINE.experiments_in(s)]


def study_targets(study):
    experiments = PIPELINE.experiments_in(study)
    return [
        f"reports/studies/{study}/metrics.csv",
        *figure_files(study),
        *curve_files(experiments),
        *sample_files(experiments),
        *autoencoder_files(experiments),
        *pruning_files(study),
        *reliability_files(study),
    ]


def all_targets():
    targets = ["reports/metrics.csv", "reports/metrics.json", "reports/curves.csv"]
    targets.append("reports/index.md")
    for study in studies_with_runs():
        targets += study_targets(study)
    return targets


# Input and params functions. Params carry the resolved config of what a job depends on, so
# editing one experiment reruns that experiment (and the reports), nothing else.


def dataset_config(wildcards):
    return json.dumps(trigger_fields(PIPELINE.datasets[wildcards.dataset]), sort_keys=True)


def experiment_config(wildcards):
    return json.dumps(PIPELINE.resolved_experiment(wildcards.experiment), sort_keys=True)


def prepared_data(wildcards):
    dataset = PIPELINE.experiments[wildcards.experiment].dataset
    return ancient(f"data/prepared/{dataset}")


def judge_model(wildcards):
    """The judge of the run's dataset, for image and text generation runs."""
    if not judged(wildcards.experiment):
        return []
    return [f"results/judges/{PIPELINE.experiments[wildcards.experiment].dataset}/model.pt"]


def judge_option(wildcards, input):
    return f"--judge {input.judge}" if input.judge else ""


def text_data(wildcards):
    """The prepared texts of a text run (their training texts score `memorization`)."""
    if not text_experiment(wildcards.experiment):
        return []
    return [ancient(f"data/prepared/{PIPELINE.experiments[wildcards.experiment].dataset}")]


def data_option(wildcards, input):
    return f"--data {input.data}" if input.data else ""


def judge_data(wildcards):
    return ancient(f"data/prepared/{wildcards.dataset}")


def first_seed_predictions(wildcards):
    seed = PIPELINE.seeds_of(wildcards.experiment)[0]
    return f"{run_dir(wildcards.experiment, seed)}/predictions.npz"


def first_seed_model(wildcards):
    seed = PIPELINE.seeds_of(wildcards.experiment)[0]
    return f"{run_dir(wildcards.experiment, seed)}/model.pt"


def init_weights(wildcards):
    source = PIPELINE.experiments[wildcards.experiment].init_from
    return [f"{run_dir(source, wildcards.seed)}/model.pt"] if source else []


def study_run_metrics(wildcards):
    experiments = PIPELINE.reported_experiments(wildcards.study)
    return run_metrics(experiments) + group_metrics(experiments)


def reliability_runs(wildcards):
    """The first seed's metrics of each of the study's experiments."""
    experiments = PIPELINE.reported_experiments(wildcards.study)
    return [f"{run_dir(e, PIPELINE.seeds_of(e)[0])}/metrics.json" for e in experiments]


def ensemble_members(wildcards):
    return [
        f"{run_dir(wildcards.experiment, s)}/predictions.npz"
        for s in PIPELINE.ensemble_members(wildcards.experiment)
    ]


def study_tables(wildcards):
    return [f"reports/studies/{s}/metrics.csv" for s in studies_with_runs()]


def figure_config(wildcards):
    return json.dumps(PIPELINE.reports[wildcards.figure].model_dump(mode="json"), sort_keys=True)


def figure_caption(wildcards):
    return PIPELINE.reports[wildcards.figure].caption or wildcards.figure


def figure_logs(wildcards):
    """The training logs an `epochs` figure reads: every run of its study's experiments."""
    if PIPELINE.reports[wildcards.figure].kind != "epochs":
        return []
    return [
        f"{run_dir(e, s)}/train_log.csv"
        for e in PIPELINE.experiments_in(wildcards.study)
        for s in PIPELINE.seeds_of(e)
    ]


def experiment_logs(wildcards):
    return [
        f"{run_dir(wildcards.experiment, s)}/train_log.csv"
        for s in PIPELINE.seeds_of(wildcards.experiment)
    ]


def all_figures(wildcards):
    files = []
    for study in studies_with_runs():
        experiments = PIPELINE.experiments_in(study)
        files += figure_files(study) + curve_files(experiments) + sample_files(experiments)
        files += autoencoder_files(experiments)
        files += pruning_files(study) + reliability_files(study)
    return files


def experiment_models(wildcards):
    return [
        f"{run_dir(wildcards.experiment, s)}/model.pt"
        for s in PIPELINE.seeds_of(wildcards.experiment)
    ]


def _pruning_caption(study, path):
    return next(c for _, p, c in pruning_figures(PIPELINE, study) if p == path)


def histogram_caption(wildcards):
    study = PIPELINE.experiments[wildcards.experiment].study
    return _pruning_caption(study, histogram_path(wildcards.experiment))


def kept_fraction_caption(wildcards):
    return _pruning_caption(wildcards.study, kept_fraction_path(wildcards.study))
