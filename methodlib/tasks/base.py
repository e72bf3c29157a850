"""What every task declares (see `methodlib/tasks/__init__.py`): torch-free facts that the
schema and the workflow read. What a task does is its routine's (`methodlib/routines/`)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, ClassVar

COMMON_METRICS = ("params", "train_seconds")
"""In every run's metrics.json, whatever its task."""
COMMON_LOG_COLUMNS = ("epoch", "train_loss", "lr", "seconds")
"""In every run's train_log.csv (train.py writes them)."""
KEPT_COLUMN = "kept"
"""In the train_log.csv of a run with `training.early_stopping` only: 1 on the epoch whose
weights the run keeps, 0 on every other (`methodlib/loop.py`); a selection reads that row."""


class Task:
    """A task's declaration: its name, what its runs produce and which report targets they
    add. The schema validates figure columns against `all_metrics` and `all_log_columns`; the
    workflow asks `needs_judge`, `evaluation_reads_data` and `report_targets` while it builds
    the DAG. Nothing here runs a model: the hooks are the `routine`'s."""

    name: ClassVar[str]
    routine: ClassVar[str]
    """The task's `Routine` (`methodlib/routines/`) as "module:Class", imported by
    `get_routine` when a job trains or evaluates a run."""
    metrics: ClassVar[tuple[str, ...]] = ()
    """Names in a run's metrics.json; `*` stands for a number or a suffix (`mauve_steps_*`).
    Methods add their own (`MethodConfig.metrics`)."""
    log_columns: ClassVar[tuple[str, ...]] = ()
    """Validation columns of train_log.csv besides `COMMON_LOG_COLUMNS`."""
    text_data: ClassVar[bool] = False
    """Whether the task runs on text datasets (and only there)."""
    standardise_inputs: ClassVar[bool] = True
    """Whether training sees inputs standardised with the training split's statistics
    (classifiers), or the data as they are, in their domain (models of the data)."""
    index_links: ClassVar[str | None] = None
    """The label of the report index's line that links the task's report targets of each
    experiment (text: its sample tables); None for targets that are not linked (figures)."""
    uncertainty_figures: ClassVar[bool] = False
    """Whether runs keep the points of a reliability diagram and of a risk–coverage curve in
    metrics.json (`reliability`, `risk_coverage`): every study with such runs gets a
    risk–coverage figure, and a reliability figure where the study asks for one."""

    def all_metrics(self, method: Any) -> tuple[str, ...]:
        """The metric patterns of a run of `method` (a config class or instance)."""
        return (*COMMON_METRICS, *self.metrics, *getattr(method, "metrics", ()))

    def all_log_columns(self, method: Any) -> tuple[str, ...]:
        """The train_log.csv columns of a run of `method` (a config class or instance)."""
        task, own = self.log_columns, getattr(method, "log_columns", ())
        return (*COMMON_LOG_COLUMNS, *task, *own, KEPT_COLUMN)

    def needs_judge(self, dataset: Any) -> bool:
        """Whether runs on this dataset (a dataset spec) are scored with the dataset's judge
        (`train_judge`): image generation (`fid_judge`) and text (`judge_ppl`)."""
        return False

    def dataset_problem(self, dataset: Any) -> str | None:
        """Why runs of this task cannot use the dataset (a dataset spec), said after its name
        (imputation: it has no test mask); None if they can. Checked when the file is read."""
        return None

    def evaluation_reads_data(self, dataset: Any) -> bool:
        """Whether `evaluate_run` reads the prepared dataset (a dataset spec) (text:
        `memorization`; image imputation: the training split's labels)."""
        return False

    def report_targets(self, experiment: str, method: Any) -> list[str]:
        """Per-experiment report files this task adds, relative to the reports folder."""
        return []


def matches(name: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Whether a metric name (or a figure's `prefix_*` pattern) is one of `patterns`."""
    return any(name == p or fnmatchcase(name, p) or fnmatchcase(p, name) for p in patterns)
