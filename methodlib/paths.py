"""Where every artifact of a pipeline lives: the one module that the rules, the command line
and the report code share (torch-free, plotting-free: building the DAG imports it).

Identity is content, not names of files. A prepared dataset lives under the hash of its
config, a run under the hash of its resolved config (`Pipeline.experiment_hash`, which covers
its dataset's config and the run it starts from), so:

- two pipeline files that define the same experiment share its runs (a copied file with one
  more experiment trains only that one), and two that define different experiments, or
  different datasets under one name, never overwrite each other's outputs;
- editing a dataset block changes the path of its data and of every run on it, so one
  `snakemake` call prepares, retrains and reports everything that depends on it; the data is
  an `ancient()` input because its identity is in its path, and a rewritten timestamp (DVC
  checking it out again) must not retrain anything;
- a dataset's judge lives under the hash of the dataset's config and the judge's training
  recipe (`Pipeline.judge_hash`), so a new recipe retrains the judge and rescores its runs;
  datasets that differ from another only by a test mask or training noise share its judge
  (`Pipeline.judge_dataset`), trained once.

Reports are per pipeline file: `reports/` belongs to `pipeline.yaml`, any other file writes
under `reports/pipelines/<its path without .yaml>/`.
"""

from __future__ import annotations

from pathlib import Path

from methodlib.report.pruning_targets import pruning_figures
from methodlib.spec import Pipeline
from methodlib.tasks import get_task

DEFAULT_PIPELINE = "pipeline.yaml"
PIPELINE_ENV = "METHODLIB_PIPELINE"
"""The pipeline file of the workflow's jobs: rules/common.smk sets it for the jobs it starts,
so the file's name is in neither a job's params nor its command line (a run's identity is its
resolved config; a copied pipeline file reruns nothing)."""
LOCK = "claims.lock"
"""The registered designs of `pipeline.yaml`'s claims (methodlib/report/registration.py)."""
HASH = "[0-9a-f]{16}"
"""The wildcard constraint of a config hash (`Pipeline.experiment_hash`, `dataset_hash`)."""

PREPARED = "data/prepared/{dataset}/{hash}"
RUN = "results/{experiment}/{hash}/seed{seed}"
GROUP = "results/{experiment}/{hash}/group"
JUDGE = "results/judges/{dataset}/{hash}/model.pt"
LOGS = "results/logs"
BENCHMARKS = "results/benchmarks"


def reports_dir(pipeline_file: str | Path) -> str:
    """`reports` for the project's `pipeline.yaml`; `reports/pipelines/<path without .yaml>`
    for any other pipeline file (relative to the working directory where it is inside it)."""
    path = Path(pipeline_file)
    cwd = Path.cwd()
    absolute = path if path.is_absolute() else cwd / path
    if absolute.resolve() == (cwd / DEFAULT_PIPELINE).resolve():
        return "reports"
    relative = absolute.relative_to(cwd) if absolute.is_relative_to(cwd) else Path(path.name)
    return (Path("reports") / "pipelines" / relative.with_suffix("")).as_posix()


def lock_file(pipeline_file: str | Path) -> str:
    """`claims.lock` beside a file named `pipeline.yaml`; `<name>.claims.lock` beside any
    other pipeline file, so that the pipelines of one folder (configs/) keep their claims'
    registrations apart."""
    path = Path(pipeline_file)
    name = LOCK if path.name == DEFAULT_PIPELINE else f"{path.stem}.{LOCK}"
    return path.with_name(name).as_posix()


class Layout:
    """The paths of one validated pipeline's artifacts."""

    def __init__(self, pipeline: Pipeline, pipeline_file: str | Path = DEFAULT_PIPELINE):
        self.pipeline = pipeline
        self.reports = reports_dir(pipeline_file)
        self.lock = lock_file(pipeline_file)

    def prepared(self, dataset: str) -> str:
        return PREPARED.format(dataset=dataset, hash=self.pipeline.dataset_hash(dataset))

    def run_dir(self, experiment: str, seed: int) -> str:
        return RUN.format(
            experiment=experiment, hash=self.pipeline.experiment_hash(experiment), seed=seed
        )

    def group_dir(self, experiment: str) -> str:
        return GROUP.format(experiment=experiment, hash=self.pipeline.experiment_hash(experiment))

    def judge(self, dataset: str) -> str:
        """The judge that scores runs on `dataset`: its judge dataset's (`judge_dataset`), so
        datasets that differ only by a test mask or training noise share one."""
        shared = self.pipeline.judge_dataset(dataset)
        return JUDGE.format(dataset=shared, hash=self.pipeline.judge_hash(shared))

    def report(self, relative: str) -> str:
        """A path under this pipeline's reports folder."""
        return f"{self.reports}/{relative}"

    # what each experiment's runs produce

    def run_files(self, experiment: str, name: str) -> list[str]:
        """The file `name` of every seed's run folder (`model.pt`, `train_log.csv`, ...), in
        seed order."""
        p = self.pipeline
        return [f"{self.run_dir(experiment, s)}/{name}" for s in p.seeds_of(experiment)]

    def run_metrics(self, experiments: list[str]) -> list[str]:
        return [f for e in experiments for f in self.run_files(e, "metrics.json")]

    def group_metrics(self, experiments: list[str]) -> list[str]:
        """The deep-ensemble evaluations of the experiments that ask for one."""
        p = self.pipeline
        return [f"{self.group_dir(e)}/metrics.json" for e in experiments if p.ensemble_members(e)]

    def selection_logs(self, selection: str) -> dict[str, dict[int, str]]:
        """What a selection reads, and nothing else: the train_log.csv of every seed of every
        member (member → seed → log), members in declaration order."""
        p = self.pipeline
        return {
            member: {s: f"{self.run_dir(member, s)}/train_log.csv" for s in p.seeds_of(member)}
            for member in p.selections[selection].members
        }

    def first_run(self, experiment: str) -> str:
        return self.run_dir(experiment, self.pipeline.seeds_of(experiment)[0])

    def uncertainty_results(self, study: str) -> list[str]:
        """What a study's reliability and risk–coverage figures draw: the metrics.json of the
        first seed of each reported experiment whose task keeps those curves
        (`Task.uncertainty_figures`), then of the deep ensembles among them."""
        experiments = [
            e
            for e in self.pipeline.reported_experiments(study)
            if self.task_of(e).uncertainty_figures
        ]
        return [f"{self.first_run(e)}/metrics.json" for e in experiments] + self.group_metrics(
            experiments
        )

    # what an experiment's evaluation reads besides its run

    def task_of(self, experiment: str):
        return get_task(self.pipeline.experiments[experiment].method.task)

    def judge_inputs(self, experiment: str) -> list[str]:
        """The dataset's judge, for the runs its task scores with one."""
        exp = self.pipeline.experiments[experiment]
        judged = self.task_of(experiment).needs_judge(self.pipeline.datasets[exp.dataset])
        return [self.judge(exp.dataset)] if judged else []

    def evaluation_data(self, experiment: str) -> list[str]:
        """The prepared dataset, for the tasks whose evaluation reads it."""
        dataset = self.pipeline.experiments[experiment].dataset
        reads = self.task_of(experiment).evaluation_reads_data(self.pipeline.datasets[dataset])
        return [self.prepared(dataset)] if reads else []

    # report targets: everything `snakemake` with no target builds

    def study_table(self, study: str) -> str:
        return self.report(f"studies/{study}/metrics.csv")

    def studies_with_runs(self) -> list[str]:
        return [s for s in self.pipeline.study_names() if self.pipeline.experiments_in(s)]

    def study_figures(self, study: str) -> list[str]:
        """Every figure and sample file of a study, under this pipeline's reports folder."""
        p = self.pipeline
        experiments = p.experiments_in(study)
        relative = [f"figures/{study}/{figure}.png" for figure in p.figures_in(study)]
        relative += [f"curves/{e}.png" for e in experiments]
        for e in experiments:
            relative += self.task_of(e).report_targets(e, p.experiments[e].method)
        relative += [path for _, path, _ in pruning_figures(p, study)]
        spec = p.studies.get(study)
        if spec is not None and spec.reliability:
            relative.append(f"reliability/{study}.png")
        if self.uncertainty_results(study):
            relative.append(f"risk_coverage/{study}.png")
        return [self.report(r) for r in relative]

    def study_targets(self, study: str) -> list[str]:
        """A study's table, figures and selections, and every one of its runs' metrics: a
        clone that holds the committed reports but no results/ still trains and evaluates each
        run, so that the reports are regenerated from them (`methodlib compare-reports --git
        HEAD reports/` checks the reproduction)."""
        experiments = self.pipeline.experiments_in(study)
        return [
            self.study_table(study),
            *self.study_figures(study),
            *[self.selection(name) for name in self.pipeline.selections_in(study)],
            *self.run_metrics(experiments),
            *self.group_metrics(experiments),
        ]

    def dvc_metric_stems(self) -> list[tuple[str, str]]:
        """(study, file stem) of every DVC metrics file: each experiment of a study with runs,
        and `<experiment>_ensemble` for each one with an `ensemble` block."""
        stems = []
        for study in self.studies_with_runs():
            for e in self.pipeline.experiments_in(study):
                stems.append((study, e))
                if self.pipeline.experiments[e].ensemble is not None:
                    stems.append((study, f"{e}_ensemble"))
        return stems

    def dvc_metric_files(self) -> list[str]:
        """`reports/metrics/<study>/<stem>.json`, named one by one (a `directory()` output
        would hold Snakemake's timestamp file, which `dvc metrics show` lists as a row)."""
        return [
            self.report(f"metrics/{study}/{stem}.json") for study, stem in self.dvc_metric_stems()
        ]

    def summary_files(self) -> list[str]:
        return [self.report("metrics.csv"), self.report("curves.csv"), *self.dvc_metric_files()]

    def index(self) -> str:
        return self.report("index.md")

    def claims(self) -> str:
        """The claims' records (`claims.json`); the page drawn from them is `claims_page`."""
        return self.report("claims.json")

    def claims_page(self) -> str:
        return self.report("claims.md")

    def claims_html(self) -> str:
        return self.report("claims.html")

    def selection(self, name: str) -> str:
        """The choice of a selection (`methodlib.selection`): its member and every score."""
        return self.report(f"selections/{name}.json")

    def selections(self) -> list[str]:
        """Every selection's choice: what the claims and the index read."""
        return [self.selection(name) for name in self.pipeline.selections]

    def claims_forest(self) -> str:
        """The forest plot of every claim's comparisons, which opens the claims page."""
        return self.report("figures/claims_forest.png")

    def all_targets(self) -> list[str]:
        targets = [*self.summary_files(), self.claims(), self.claims_page(), self.index()]
        targets += [self.claims_html(), self.claims_forest(), *self.selections()]
        for study in self.studies_with_runs():
            targets += self.study_targets(study)
        return list(dict.fromkeys(targets))

    def all_figures(self) -> list[str]:
        return [f for s in self.studies_with_runs() for f in self.study_figures(s)]
