"""The base of every method's config model, torch-free: the schema and the workflow's DAG read
a method's settings and what it is (its task, the architectures it takes, the figures it
gets) from here without importing its implementation."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt


class MethodConfig(BaseModel):
    """Base of every method's config; `name` is the discriminator the YAML uses.

    The class variables say what the schema and the DAG need to know about the method; its
    `Method` class reads them from here, so they are said once."""

    model_config = ConfigDict(extra="forbid")
    name: str

    implementation: ClassVar[str]
    """`module:Class` of the method's `Method`, imported only when a run needs it."""
    display_name: ClassVar[str]
    """The method's name in legends and tables ("Sparse VD", "MC dropout"); an experiment's
    `label` overrides it (`methodlib/report/labels.py`)."""
    task: ClassVar[str] = "classification"
    interface: ClassVar[str | None] = None
    """The architecture interface the method calls (`model_catalog.model_interface`)."""
    batch_norm: ClassVar[bool] = True
    """Whether the method works on the `_bn` architectures (pruning methods shrink networks
    layer by layer and do not)."""
    needs_batch_norm: ClassVar[bool] = False
    """Whether the method works only on the `_bn` architectures (stochastic batch norm)."""
    reconstructs: ClassVar[bool] = False
    """Whether the method also reconstructs its inputs (autoencoders: their figures)."""
    variational_pruning: ClassVar[bool] = False
    """Whether the method prunes by a per-weight or per-unit statistic (its histograms, whose
    caption the config's `pruning_caption(experiment)` gives)."""
    models: ClassVar[tuple[str, ...] | None] = None
    """The only architectures the method takes, where it takes fewer than every one of its task
    and interface (`model_problem`, which the spec and the contract tests use)."""
    metrics: ClassVar[tuple[str, ...]] = ()
    """Metrics a run of the method has beyond its task's (`methodlib/tasks/`); `*` stands for
    a number or a suffix. Figure columns are checked against them before anything runs."""
    log_columns: ClassVar[tuple[str, ...]] = ()
    """train_log.csv columns beyond its task's (`epoch_metrics`), for `kind: epochs` figures."""
    revision: ClassVar[int] = 1
    """Raised when a fix changes what the method computes for the same config (a run's identity
    is its config hash, so without it the old runs would still look current): a revision above
    1 enters the hash of every experiment of the method and reruns them. Say in a comment
    beside it what each revision changed."""
    untriggered_defaults: ClassVar[dict[str, object]] = {}
    """Fields added after the method's results were published, with their defaults: left out
    of the config hash while they hold them (as `spec.DEFAULT_NOT_A_TRIGGER` for datasets and
    training), so that adding an option does not rerun every experiment of the method."""

    @classmethod
    def method_name(cls) -> str:
        return cls.model_fields["name"].default


class GenerativeConfig(MethodConfig):
    """Fields every generation method has (the diffusion models and the autoencoders)."""

    task: ClassVar[str] = "generation"
    batch_norm: ClassVar[bool] = False
    metrics: ClassVar[tuple[str, ...]] = ("raw_out_of_domain",)

    samples: PositiveInt | None = Field(
        None, description="samples drawn after training (default: the test split's size)"
    )
    projection: Literal["none", "clip", "project"] = Field(
        "project", description="how final samples are mapped into a constrained data domain"
    )
