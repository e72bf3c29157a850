"""The workflow's input and params functions, in Python that ruff checks and tests import:
`rules/common.smk` builds one `Inputs` and the rules name its methods. Snakemake calls each
with a job's wildcards (and, for params, its input); every path comes from `methodlib.paths`.

Params carry the resolved config of what a job depends on, and its path carries that config's
hash, so editing one experiment reruns that experiment and the reports, nothing else. A path
whose hash is not today's config is refused: the pipeline cannot rebuild an older config.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from methodlib.paths import Layout
from methodlib.report.pruning_targets import histogram_path, kept_fraction_path, pruning_figures
from methodlib.spec import trigger_fields


class Inputs:
    """Input and params functions of one validated pipeline.

    `ancient` is Snakemake's: the prepared data is an `ancient()` input because its identity is
    its path (the dataset config's hash), so a timestamp that DVC rewrites retrains nothing,
    while a new config is a new path, prepared and trained on in the same call."""

    def __init__(self, layout: Layout, ancient: Callable[[str], Any]):
        self.layout = layout
        self.pipeline = layout.pipeline
        self.ancient = ancient

    # the entity a job's wildcards name, checked against today's config

    def experiment(self, wildcards) -> str:
        name, p = wildcards.experiment, self.pipeline
        if name not in p.experiments:
            raise ValueError(f"{name!r} is not an experiment of this pipeline file")
        if wildcards.hash != p.experiment_hash(name):
            raise ValueError(
                f"results/{name}/{wildcards.hash} is not the current config of {name!r} "
                f"(that is {p.experiment_hash(name)}); it cannot be rebuilt from this file"
            )
        return name

    def dataset(self, wildcards) -> str:
        name, p = wildcards.dataset, self.pipeline
        if name not in p.datasets or wildcards.hash != p.dataset_hash(name):
            raise ValueError(f"{name}/{wildcards.hash} is not a dataset config of this file")
        return name

    def selection(self, wildcards) -> str:
        name = wildcards.selection
        if name not in self.pipeline.selections:
            raise ValueError(f"{name!r} is not a selection of this pipeline file")
        return name

    # params

    def dataset_config(self, wildcards) -> str:
        spec = self.pipeline.datasets[self.dataset(wildcards)]
        return json.dumps(trigger_fields(spec), sort_keys=True)

    def experiment_config(self, wildcards) -> str:
        resolved = self.pipeline.resolved_experiment(self.experiment(wildcards))
        return json.dumps(resolved, sort_keys=True)

    def figure_config(self, wildcards) -> str:
        figure = self.pipeline.reports[wildcards.figure]
        experiments = self.pipeline.reported_experiments(figure.study)
        labels = {e: self.pipeline.experiments[e].label for e in experiments}
        # the legend names its experiments: a new `label:` redraws the figure
        return json.dumps({**figure.model_dump(mode="json"), "labels": labels}, sort_keys=True)

    def claims_config(self, wildcards) -> str:
        """Every claim's declaration and the experiments' labels (the claims page names the
        arms by them): editing either in the YAML decides the claims again."""
        claims = {n: c.model_dump(mode="json") for n, c in self.pipeline.claims.items()}
        labels = {n: e.label for n, e in self.pipeline.experiments.items()}
        return json.dumps({"claims": claims, "labels": labels}, sort_keys=True)

    def selection_config(self, wildcards) -> str:
        """The selection's declaration: a new `on`, `better` or member list chooses again."""
        spec = self.pipeline.selections[self.selection(wildcards)]
        return json.dumps(spec.model_dump(mode="json"), sort_keys=True)

    def figure_caption(self, wildcards) -> str:
        return self.pipeline.reports[wildcards.figure].caption or wildcards.figure

    def histogram_caption(self, wildcards) -> str:
        study = self.pipeline.experiments[wildcards.experiment].study
        return self._pruning_caption(study, histogram_path(wildcards.experiment))

    def kept_fraction_caption(self, wildcards) -> str:
        return self._pruning_caption(wildcards.study, kept_fraction_path(wildcards.study))

    def _pruning_caption(self, study: str, path: str) -> str:
        return next(c for _, p, c in pruning_figures(self.pipeline, study) if p == path)

    # params that turn optional inputs into command-line options

    @staticmethod
    def output_dir(wildcards, output) -> str:
        """The run folder of a job, from its first output."""
        return os.path.dirname(output[0])

    @staticmethod
    def input_dir(wildcards, input) -> str:
        return os.path.dirname(input[0])

    @staticmethod
    def init_option(wildcards, input) -> str:
        return f"--init {os.path.dirname(input.init[0])}" if input.init else ""

    @staticmethod
    def judge_option(wildcards, input) -> str:
        return f"--judge {input.judge}" if input.judge else ""

    @staticmethod
    def data_option(wildcards, input) -> str:
        return f"--data {input.data[0]}" if input.data else ""

    # inputs of training and evaluation

    def prepared_data(self, wildcards):
        dataset = self.pipeline.experiments[self.experiment(wildcards)].dataset
        return self.ancient(self.layout.prepared(dataset))

    def judge_data(self, wildcards):
        name, p = wildcards.dataset, self.pipeline
        if (
            name not in p.datasets
            or p.judge_dataset(name) != name
            or wildcards.hash != p.judge_hash(name)
        ):
            raise ValueError(
                f"results/judges/{name}/{wildcards.hash} is not the judge of a dataset config "
                "and the judge recipe of this file (methodlib/judge_recipes.py), or its dataset "
                "shares another's judge (Pipeline.judge_dataset)"
            )
        return self.ancient(self.layout.prepared(name))

    def init_weights(self, wildcards) -> list[str]:
        source = self.pipeline.experiments[self.experiment(wildcards)].init_from
        return [f"{self.layout.run_dir(source, wildcards.seed)}/model.pt"] if source else []

    def judge_model(self, wildcards) -> list[str]:
        """The dataset's judge, for the tasks that score runs with one."""
        return self.layout.judge_inputs(self.experiment(wildcards))

    def evaluation_data(self, wildcards) -> list:
        """The prepared data, for the tasks whose evaluation reads it (text: `memorization`)."""
        return [self.ancient(d) for d in self.layout.evaluation_data(self.experiment(wildcards))]

    def ensemble_members(self, wildcards) -> list[str]:
        experiment = self.experiment(wildcards)
        return [
            f"{self.layout.run_dir(experiment, s)}/predictions.npz"
            for s in self.pipeline.ensemble_members(experiment)
        ]

    # inputs of the reports

    def first_seed_predictions(self, wildcards) -> str:
        return f"{self.layout.first_run(wildcards.experiment)}/predictions.npz"

    def first_seed_model(self, wildcards) -> str:
        return f"{self.layout.first_run(wildcards.experiment)}/model.pt"

    def experiment_data(self, wildcards):
        dataset = self.pipeline.experiments[wildcards.experiment].dataset
        return self.ancient(self.layout.prepared(dataset))

    def experiment_logs(self, wildcards) -> list[str]:
        return self.layout.run_files(wildcards.experiment, "train_log.csv")

    def experiment_models(self, wildcards) -> list[str]:
        return self.layout.run_files(wildcards.experiment, "model.pt")

    def study_run_metrics(self, wildcards) -> list[str]:
        experiments = self.pipeline.reported_experiments(wildcards.study)
        return self.layout.run_metrics(experiments) + self.layout.group_metrics(experiments)

    def uncertainty_results(self, wildcards) -> list[str]:
        return self.layout.uncertainty_results(wildcards.study)

    def study_tables(self, wildcards) -> list[str]:
        return [self.layout.study_table(s) for s in self.layout.studies_with_runs()]

    def figure_logs(self, wildcards) -> list[str]:
        """The training logs an `epochs` figure reads: every run of its study's experiments."""
        if self.pipeline.reports[wildcards.figure].kind != "epochs":
            return []
        experiments = self.pipeline.reported_experiments(wildcards.study)
        return [f for e in experiments for f in self.layout.run_files(e, "train_log.csv")]

    def claims_lock(self, wildcards) -> list[str]:
        """The pipeline's `claims.lock` when it has one (a fresh clone has it committed): a
        registration or an amendment decides the claims again; without it every claim is
        decided as exploratory."""
        return [self.layout.lock] if os.path.exists(self.layout.lock) else []

    def all_figures(self, wildcards) -> list[str]:
        return self.layout.all_figures()

    def selection_logs(self, wildcards) -> list[str]:
        """A selection's inputs: its members' training logs, never an output computed on the
        test split (tests/test_selection.py holds the rule to it)."""
        logs = self.layout.selection_logs(self.selection(wildcards))
        return [log for seeds in logs.values() for log in seeds.values()]

    def selections(self, wildcards) -> list[str]:
        """Every selection's choice: the claims and the index name the chosen members."""
        return self.layout.selections()

    def functions(self) -> list:
        """Every input and params function, for `rules/common.smk` to register their
        signatures once (Snakemake otherwise inspects one per call: thousands per DAG)."""
        return [
            getattr(self, name)
            for name in vars(Inputs)
            if not name.startswith("_")
            and name not in ("experiment", "dataset", "selection", "functions")
            and callable(getattr(self, name))
        ]
