"""Config models of the RNN compression family (`dense_lstm`, `sparsevd_lstm`,
`sparsevd_voc_lstm`; the language models `dense_lstm_lm`, `sparsevd_lstm_lm`), torch-free: see
`methodlib.methods.config`."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from methodlib.methods.config import MethodConfig
from methodlib.methods.pruning.configs import VariationalConfig

RNN_COMPRESSION_METRICS = (
    "compression",
    "nonzero_weights",
    "kept_vocabulary",
    "kept_vocabulary_fraction",
    "kept_embedding_dims",
    "kept_hidden",
)
"""What `layers.compression_stats` measures of a trained LSTM classifier."""

Gates = Annotated[
    Literal["sigmoid", "hard_sigmoid"],
    Field(
        description="the input, forget and output gates' nonlinearity: the reference's "
        "classifiers use Theano's hard sigmoid clip(0.2·x + 0.5, 0, 1), its language "
        "models the sigmoid"
    ),
]

REVISION = 2
"""2 (issue 31): compression counts weights tied to dead embedding dimensions and hidden units
as zero (the reference's `compute_compression_masks`); the classifiers' gates are the
reference's hard sigmoid."""


class DenseLSTMConfig(MethodConfig):
    name: Literal["dense_lstm"] = "dense_lstm"
    revision: ClassVar[int] = REVISION
    display_name: ClassVar[str] = "Dense LSTM"
    implementation: ClassVar[str] = "methodlib.methods.rnn_compression.dense_lstm:DenseLSTM"
    task: ClassVar[str] = "text_classification"
    batch_norm: ClassVar[bool] = False
    metrics: ClassVar[tuple[str, ...]] = RNN_COMPRESSION_METRICS
    gates: Gates = "hard_sigmoid"


class SparseVDLSTMConfig(VariationalConfig):
    """Sparse VD of every weight matrix (embedding, LSTM input and recurrent, output), with the
    reference code's settings: log σ initialised at −3 (log σ² = −6), log α clipped to
    [−8, 8], weights with log α ≥ 3 zeroed at test, the full KL from the first step
    (`kl_warmup` 0: the reference does not anneal it)."""

    name: Literal["sparsevd_lstm"] = "sparsevd_lstm"
    revision: ClassVar[int] = REVISION
    display_name: ClassVar[str] = "SparseVD"
    implementation: ClassVar[str] = "methodlib.methods.rnn_compression.sparsevd_lstm:SparseVDLSTM"
    task: ClassVar[str] = "text_classification"
    batch_norm: ClassVar[bool] = False
    metrics: ClassVar[tuple[str, ...]] = RNN_COMPRESSION_METRICS
    log_columns: ClassVar[tuple[str, ...]] = ("kl_per_example", "compression")
    threshold: float = Field(3.0, description="weights with log α ≥ threshold are zeroed at test")
    log_sigma2_init: float = Field(-6.0, description="initial log σ² of every weight")
    gates: Gates = "hard_sigmoid"


class SparseVDVocLSTMConfig(SparseVDLSTMConfig):
    """SparseVD plus a multiplicative Gaussian weight z_w ~ N(μ_w, σ_w²) per word (μ starts at
    1, log σ² at `log_sigma2_init`); a word whose log α_w ≥ `threshold` leaves the vocabulary."""

    name: Literal["sparsevd_voc_lstm"] = "sparsevd_voc_lstm"  # type: ignore[assignment]
    display_name: ClassVar[str] = "SparseVD-Voc"
    implementation: ClassVar[str] = (
        "methodlib.methods.rnn_compression.sparsevd_voc_lstm:SparseVDVocLSTM"
    )


class DenseLSTMLMConfig(DenseLSTMConfig):
    """The dense word-level LSTM language model (`word_lm`: perplexity of every next word)."""

    name: Literal["dense_lstm_lm"] = "dense_lstm_lm"  # type: ignore[assignment]
    display_name: ClassVar[str] = "Dense LSTM LM"
    implementation: ClassVar[str] = "methodlib.methods.rnn_compression.dense_lstm_lm:DenseLSTMLM"
    task: ClassVar[str] = "word_lm"
    gates: Gates = "sigmoid"


class SparseVDLSTMLMConfig(SparseVDLSTMConfig):
    """SparseVD of the word-level LSTM language model, with `sparsevd_lstm`'s settings; its
    KL is divided by the number of training texts and the data term is each text's summed
    word NLL, so `kl_weight` 1 is the full ELBO."""

    name: Literal["sparsevd_lstm_lm"] = "sparsevd_lstm_lm"  # type: ignore[assignment]
    display_name: ClassVar[str] = "SparseVD LM"
    implementation: ClassVar[str] = (
        "methodlib.methods.rnn_compression.sparsevd_lstm_lm:SparseVDLSTMLM"
    )
    task: ClassVar[str] = "word_lm"
    gates: Gates = "sigmoid"
