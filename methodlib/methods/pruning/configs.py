"""Config models of the pruning family (`dense`, `sparse_vd`, `vd_ard`, `sbp`,
`bayes_incremental`), torch-free: see `methodlib.methods.config`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from methodlib.methods.config import MethodConfig

PRUNING_METRICS = (
    "compression",
    "nonzero_weights",
    "pruned_flops",
    "flops_reduction",
    "cpu_speedup",
    "sparsity_*",
    "kept_units_*",
    "kept_fraction_*",
)
"""What `metrics.pruning.pruning_metrics` measures of a network."""


class DenseConfig(MethodConfig):
    name: Literal["dense"] = "dense"
    display_name: ClassVar[str] = "Dense"
    implementation: ClassVar[str] = "methodlib.methods.pruning.dense:Dense"
    metrics: ClassVar[tuple[str, ...]] = PRUNING_METRICS  # the baseline on pruning figures


class VariationalConfig(MethodConfig):
    """Settings every Bayesian pruning method has: the KL weight, its warm-up, and the
    learning-rate factor of the variational parameters."""

    kl_weight: float = Field(1.0, ge=0, description="final β in NLL + β·KL/N")
    kl_warmup: float = Field(
        0.0,
        ge=0,
        le=1,
        description="fraction of training over which β rises linearly from 0 to kl_weight",
    )
    variational_lr_scale: float = Field(
        1.0,
        gt=0,
        description="learning-rate factor of the variational parameters (log σ², μ, log σ): "
        "they must travel several units, which takes many steps at a weight's learning rate",
    )


class SparseVDConfig(VariationalConfig):
    name: Literal["sparse_vd"] = "sparse_vd"
    display_name: ClassVar[str] = "Sparse VD"
    implementation: ClassVar[str] = "methodlib.methods.pruning.sparse_vd:SparseVD"
    variational_pruning: ClassVar[bool] = True
    metrics: ClassVar[tuple[str, ...]] = PRUNING_METRICS
    log_columns: ClassVar[tuple[str, ...]] = ("kl_per_example", "compression")
    batch_norm: ClassVar[bool] = False
    threshold: float = Field(3.0, description="weights with log α ≥ threshold are zeroed at test")
    log_sigma2_init: float = Field(-10.0, description="initial log σ² of every weight")

    def pruning_caption(self, experiment: str) -> str:
        """The caption of the experiment's histogram of its pruning statistic."""
        return (
            f"{experiment}: log α of every weight, per layer, pooled over seeds (clipped to "
            f"[−8, 8]); weights at or right of the dashed line (log α ≥ "
            f"{self.threshold:g}) are zeroed at test time."
        )


class VDARDConfig(SparseVDConfig):
    name: Literal["vd_ard"] = "vd_ard"  # type: ignore[assignment]
    display_name: ClassVar[str] = "VD-ARD"
    implementation: ClassVar[str] = "methodlib.methods.pruning.vd_ard:VDARD"


class SBPConfig(VariationalConfig):
    name: Literal["sbp"] = "sbp"
    display_name: ClassVar[str] = "SBP"
    implementation: ClassVar[str] = "methodlib.methods.pruning.sbp:SBP"
    variational_pruning: ClassVar[bool] = True
    metrics: ClassVar[tuple[str, ...]] = PRUNING_METRICS
    log_columns: ClassVar[tuple[str, ...]] = ("kl_per_example", "compression")
    batch_norm: ClassVar[bool] = False
    snr_threshold: float = Field(1.0, gt=0, description="groups with SNR ≤ this are removed")
    a: float = Field(-20.0, description="lower end of log θ's range (posterior and prior)")
    b: float = Field(0.0, description="upper end of log θ's range")
    mu_init: float = Field(0.0, description="initial μ of every group's log θ")
    log_sigma_init: float = Field(-5.0, description="initial log σ of every group's log θ")

    @model_validator(mode="after")
    def _ordered(self) -> SBPConfig:
        if not self.a < self.b:
            raise ValueError(f"need a < b, got a = {self.a}, b = {self.b}")
        return self

    def pruning_caption(self, experiment: str) -> str:
        """The caption of the experiment's histogram of its pruning statistic."""
        return (
            f"{experiment}: log10 signal-to-noise ratio of every neuron/channel's multiplicative "
            f"noise, per layer, pooled over seeds; groups at or left of the dashed line "
            f"(SNR ≤ {self.snr_threshold:g}) are removed."
        )


class BayesIncrementalConfig(MethodConfig):
    name: Literal["bayes_incremental"] = "bayes_incremental"
    display_name: ClassVar[str] = "Bayesian incremental"
    implementation: ClassVar[str] = "methodlib.methods.pruning.bayes_incremental:BayesIncremental"
    metrics: ClassVar[tuple[str, ...]] = ("accuracy_after_chunk_*",)
    log_columns: ClassVar[tuple[str, ...]] = ("chunk", "kl_per_example")
    strategy: Literal["bayes", "finetune", "joint"] = Field(
        "bayes",
        description="bayes: variational posterior of each chunk is the next chunk's prior; "
        "finetune: maximum likelihood on each new chunk only; joint: all data every epoch",
    )
    chunks: int = Field(
        5, ge=1, description="K, the parts the training data arrive in (needs epochs ≥ K)"
    )
    seed: int = Field(0, ge=0, description="seed of the random split into chunks")
    prior_std: float = Field(0.1, gt=0, description="σ of the first chunk's prior N(0, σ²)")
    log_sigma_init: float = Field(-4.0, description="initial log σ of every posterior weight")
    kl_weight: float = Field(
        1.0,
        ge=0,
        description="β in NLL + β·KL/|chunk| (bayes only); 1 is Bayes' rule, other values "
        "temper the posterior",
    )
    variational_lr_scale: float = Field(
        10.0,
        gt=0,
        description="learning-rate factor of the posterior log σ: the variances must settle "
        "within one chunk, or the next chunk's prior is far too tight",
    )
    samples: int = Field(10, ge=1, description="Monte Carlo passes per prediction (bayes)")
