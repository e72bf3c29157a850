"""What every metric and figure column is called on the page: its display name, unit, which
direction is better and how its numbers are written. Axis labels, table headers and the claims
page all read it here, so "Calibrated NLL (nats) ↓" is said once and never as
`curve_test_calibrated_nll`.

Torch-free and cheap (the schema's figure check and the report rules import it). Exact names
live in `METRICS`; families of names (`curve_<m>`, `mauve_steps_<k>`, `sparsity_<layer>`, ...)
are built by the rules in `FAMILIES`. A metric that a task or method declares and that neither
knows is an error (`UnknownMetricError`), and a test keeps every declared metric known.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

Better = Literal["lower", "higher"] | None

ARROWS = {"lower": "↓", "higher": "↑", None: ""}


@dataclass(frozen=True)
class MetricInfo:
    """How one metric (or figure column) reads on the page.

    `unit` is None for unitless numbers. `fmt` is a format spec for `format()`; one that ends
    with `%` (".2%") marks a value stored as a fraction and shown as a percentage (unit "%"),
    on axes too. `clock` marks a measured time (or a ratio of times): it differs by machine
    and load, so a comparison of two sets of reports lists it apart and never flags it."""

    name: str
    display: str
    unit: str | None = None
    better: Better = None
    fmt: str = ".4f"
    clock: bool = False


class UnknownMetricError(KeyError):
    """A metric name that neither the registry nor any of its families knows."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0])


def _m(
    name: str,
    display: str,
    unit: str | None = None,
    better: Better = None,
    fmt: str = ".4f",
    clock: bool = False,
) -> MetricInfo:
    return MetricInfo(name, display, unit, better, fmt, clock)


_PCT = ".2%"
_COUNT = ",.0f"

_ENTRIES = (
    # classification (methodlib/tasks/classification.py)
    _m("test_accuracy", "Test accuracy", "%", "higher", _PCT),
    _m("test_error", "Test error", "%", "lower", _PCT),
    _m("test_nll", "Test NLL", "nats", "lower"),
    _m("test_brier", "Brier score", None, "lower"),
    _m("test_calibrated_nll", "Calibrated NLL", "nats", "lower"),
    _m("test_ece", "ECE", "%", "lower", _PCT),
    _m("test_ece_mass", "ECE (equal-mass bins)", "%", "lower", _PCT),
    _m("test_aurc", "AURC", "%", "lower", ".3%"),
    _m("test_eaurc", "E-AURC", "%", "lower", ".3%"),
    _m("ood_auroc", "OOD AUROC", None, "higher", ".3f"),
    _m("dee", "Deep-ensemble equivalent", "networks", "higher", ".2f"),
    _m("n_samples", "Predictive samples", None, None, _COUNT),
    # every task
    _m("params", "Parameters", None, "lower", _COUNT),
    _m("flops", "FLOPs per example", None, "lower", _COUNT),
    _m("train_seconds", "Training time", "s", "lower", _COUNT, clock=True),
    # pruning (methodlib/methods/pruning/configs.py)
    _m("compression", "Compression", "×", "higher", ".1f"),
    _m("nonzero_weights", "Non-zero weights", None, "lower", _COUNT),
    _m("pruned_flops", "FLOPs per example after pruning", None, "lower", _COUNT),
    _m("flops_reduction", "FLOP reduction", "×", "higher", ".1f"),
    _m("cpu_speedup", "CPU speed-up", "×", "higher", ".2f", clock=True),
    # adaptive computation time (methodlib/tasks/adaptive.py)
    _m("ponder_cost", "Ponder cost ρ", None, "lower", ".3f"),
    _m("ponder_auroc", "AUROC of the ponder map for the digit", None, "higher", ".3f"),
    # RNN compression (methodlib/methods/rnn_compression/configs.py)
    _m("kept_vocabulary", "Words kept", None, "lower", _COUNT),
    _m("kept_vocabulary_fraction", "Vocabulary kept", "%", "lower", _PCT),
    _m("vocabulary_size", "Vocabulary size", None, None, _COUNT),
    _m("kept_embedding_dims", "Embedding dimensions kept", None, "lower", _COUNT),
    _m("kept_hidden", "LSTM units kept", None, "lower", _COUNT),
    # word-level language modelling (methodlib/tasks/word_lm.py)
    _m("test_perplexity", "Test perplexity per word", None, "lower", ".1f"),
    _m("test_log_perplexity", "Test log perplexity per word", "nats", "lower", ".3f"),
    _m("test_words", "Test words scored", None, None, _COUNT),
    # tensor-train layers (methodlib/methods/tensor_train/configs.py)
    _m("tt_layer_params", "Parameters of the TT layer", None, "lower", _COUNT),
    _m("dense_layer_params", "Parameters of the dense layer it replaces", None, None, _COUNT),
    _m("tt_layer_compression", "Compression of the TT layer", "×", "higher", ".1f"),
    # PerforatedCNNs (methodlib/methods/perforation/configs.py)
    _m("perforation_rate", "Perforation rate (positions skipped)", "%", None, _PCT),
    _m("dense_val_loss", "Validation NLL before perforation", "nats", "lower"),
    _m("perforated_val_loss", "Validation NLL right after perforation", "nats", "lower"),
    _m("perforation_loss_increase", "Validation NLL increase at perforation", "nats", "lower"),
    _m(
        "perforation_speedup",
        "CPU speed-up of the perforated conv layers",
        "×",
        "higher",
        ".2f",
        clock=True,
    ),
    _m(
        "perforation_speedup_torch",
        "CPU speed-up of the perforated conv layers over torch's conv",
        "×",
        "higher",
        ".2f",
        clock=True,
    ),
    # ReSet routing (methodlib/methods/routing/configs.py)
    _m("route_separation", "Route separation over shuffled labels", None, "higher", ".3f"),
    _m("route_class_distance", "Mean route distance between classes", None, None, ".3f"),
    _m("route_shuffled_distance", "Mean route distance, shuffled labels", None, None, ".3f"),
    _m("digit", "Digit class", None, None, ".0f"),
    # ensembles and approximate inference (methodlib/methods/ensembles/configs.py)
    _m("swa_val_accuracy", "Validation accuracy (SWA)", "%", "higher", _PCT),
    _m("swa_val_nll", "Validation NLL (SWA)", "nats", "lower"),
    _m("final_iterate_val_accuracy", "Validation accuracy (final iterate)", "%", "higher", _PCT),
    _m("final_iterate_val_nll", "Validation NLL (final iterate)", "nats", "lower"),
    _m("laplace_noise_scale", "Laplace covariance scale τ", None, None, ".0e"),
    _m("laplace_val_nll", "Laplace validation NLL", "nats", "lower"),
    # generation (methodlib/tasks/generation.py)
    _m("out_of_domain", "Samples off the domain", "%", "lower", _PCT),
    _m("raw_out_of_domain", "Raw samples off the domain", "%", "lower", _PCT),
    _m("nonfinite", "Non-finite samples", "%", "lower", _PCT),
    _m("n_generated", "Samples generated", None, None, _COUNT),
    _m("sliced_w", "Sliced Wasserstein distance", None, "lower"),
    _m("sym_kl", "Symmetric KL", "nats", "lower", ".3f"),
    _m("recon_rmse", "Reconstruction RMSE", None, "lower"),
    _m("fid_judge", "FID (judge features)", None, "lower", ".2f"),
    _m("is_judge", "Inception score (judge)", None, "higher", ".2f"),
    _m("rid", "RID", "nats", "lower"),
    _m("rid_augmentation", "RID of the augmentation", "nats", "lower"),
    # imputation (methodlib/routines/imputation_eval.py)
    _m("nrmse", "NRMSE of the imputed entries", None, "lower", ".3f"),
    _m("psnr_best", "PSNR of the best of K inpaintings", "dB", "higher", ".2f"),
    _m("judge_classes", "Judge classes among K inpaintings", None, "higher", ".2f"),
    _m(
        "judge_classes_ambiguous",
        "Judge classes among K inpaintings, ambiguous halves",
        None,
        "higher",
        ".2f",
    ),
    _m("ambiguous_share", "Share of test halves that are ambiguous", None, None, _PCT),
    # latent-variable VAEs (methodlib/methods/latent_vi/)
    _m("test_ll", "Test log-likelihood (IWAE bound)", "nats", "higher", ".2f"),
    _m("test_elbo", "Test ELBO", "nats", "higher", ".2f"),
    _m("seconds_per_step", "CPU time per training step", "s", "lower", ".4f", clock=True),
    _m("logq_gap_drop_1_10", "Fall of the log q sandwich's gap, K = 1 to 10", "nats", "higher"),
    _m("logq_gap_drop_10_100", "Fall of the log q sandwich's gap, K = 10 to 100", "nats", "higher"),
    _m("psi_draws", "Draws of ψ (K)", None, None, _COUNT),
    _m("iwhvi10_sivi100_margin", "SIVI gap at K = 100 − IWHVI gap at K = 10", "nats", "higher"),
    _m("prior_gap_drop_1_10", "Fall of the log p(z) sandwich's gap, K = 1 to 10", "nats", "higher"),
    _m(
        "prior_gap_drop_10_100",
        "Fall of the log p(z) sandwich's gap, K = 10 to 100",
        "nats",
        "higher",
    ),
    # Metropolis-Hastings samplers (methodlib/methods/mh/)
    _m("acceptance_first", "MH acceptance rate after the first epoch", "%", "higher", _PCT),
    _m("acceptance_last", "MH acceptance rate after training", "%", "higher", _PCT),
    _m("acceptance_gain", "Rise of the MH acceptance rate in training", "%", "higher", _PCT),
    _m("mean_error", "Distance of the sample mean from the target's", None, "lower", ".3f"),
    _m("cov_error", "Relative distance of the sample covariance", None, "lower", ".3f"),
    # text (methodlib/tasks/text.py)
    _m("mauve", "MAUVE", None, "higher", ".3f"),
    _m("judge_ppl", "Judge perplexity", None, "lower", ".1f"),
    _m("judge_ppl_reference", "Judge perplexity of the test texts", None, None, ".1f"),
    _m("distinct_2", "Distinct-2", None, "higher", ".3f"),
    _m("self_bleu", "Self-BLEU", None, "lower", ".3f"),
    _m("memorization", "Memorisation", "%", "lower", ".1%"),
    _m("mean_length", "Mean length", "tokens", None, ".1f"),
    _m("std_length", "Length sd", "tokens", None, ".1f"),
    _m("empty_fraction", "Empty texts", "%", "lower", ".1%"),
    _m("grammatical", "Grammatical share", "%", "higher", ".1%"),
    _m("grammar_nll", "True NLL per word", "nats", "lower", ".3f"),
    _m("grammar_nll_reference", "True NLL per word of the test texts", "nats", None, ".3f"),
    _m("decoder_acc_clean", "Decoder accuracy on clean latents", "%", "higher", ".1%"),
    _m("x0_norm_data", "Norm of clean latents", None, None, ".3f"),
    # Monte Carlo gradient estimators (methodlib/tasks/estimator.py)
    _m("elbo", "ELBO per training example", "nats", "higher", ".4f"),
    _m("final_elbo", "Final ELBO per training example", "nats", "higher", ".4f"),
    _m("bias_z_rms", "RMS z-score against the exact gradients", None, "lower", ".2f"),
    _m("blr_grad_var_mu", "Gradient variance w.r.t. μ, log. regression", None, "lower", ".3e"),
    _m("blr_grad_var_sigma", "Gradient variance w.r.t. σ, log. regression", None, "lower", ".3e"),
    _m("evals_per_sample", "Cost evaluations per sample", None, "lower", _COUNT),
    # train_log.csv columns (tasks' and methods' `log_columns`, train.py's common ones)
    _m("epoch", "Epoch", None, None, ".0f"),
    _m("train_loss", "Training loss", None, "lower"),
    _m("lr", "Learning rate", None, None, ".0e"),
    _m("seconds", "Wall time", "s", None, ",.0f", clock=True),
    _m("kept", "Epoch kept by early stopping", None, None, ".0f"),
    _m("val_nll", "Validation NLL", "nats", "lower"),
    _m("val_accuracy", "Validation accuracy", "%", "higher", _PCT),
    _m("val_perplexity", "Validation perplexity per word", None, "lower", ".1f"),
    _m("val_loss", "Validation loss", None, "lower"),
    _m("val_mse", "Validation MSE of the denoiser", None, "lower"),
    _m("val_decoder_ce", "Validation decoder cross-entropy", "nats", "lower"),
    _m("val_elbo", "Validation negative ELBO (network terms)", "nats", "lower"),
    _m("val_sym_kl", "Validation symmetric KL", "nats", "lower", ".3f"),
    _m("val_sliced_w", "Validation sliced Wasserstein distance", None, "lower"),
    _m("models_averaged", "Models averaged", None, None, _COUNT),
    _m("snapshots", "Snapshots", None, None, _COUNT),
    _m("kl_per_example", "KL per training example", "nats", None),
    _m("median_sigma", "Median posterior σ", None, None, ".2e"),
    _m("disc_loss", "Discriminator loss", None, None),
    _m("disc_val_loss", "Refitted discriminator loss on validation", None, "lower"),
    _m("refit_steps", "Discriminator refit steps", None, None, _COUNT),
    _m("acceptance", "MH acceptance rate", "%", "higher", _PCT),
    _m("chunk", "Data chunk", None, None, ".0f"),
    # the numbers that numbered metrics are drawn against (report/plots.py `numbered_metrics`)
    _m("samples", "Samples or ensemble members", None, None, _COUNT),
    _m("k", "Cost parameter k", None, None, ".0f"),
    _m("sigma_percent", "Scale σ × 100 of N(1, σ²)", None, None, ".0f"),
    _m("n_samples", "Samples per estimate N", None, None, _COUNT),
    _m("sampling_steps", "Sampling steps", None, None, _COUNT),
    _m("noise_t_percent", "Diffusion time t", "%", None, ".0f"),
    _m("sampler_step", "Sampler step", None, None, _COUNT),
    _m("rate_percent", "Perforation rate", "%", None, ".0f"),
)

METRICS: dict[str, MetricInfo] = {info.name: info for info in _ENTRIES}
"""Every exactly named metric and figure column."""

TABLE_COLUMNS = {
    "experiment": "Experiment",
    "method": "Method",
    "dataset": "Dataset",
    "model": "Model",
    "seed": "Seed",
}
"""Axis labels of the tidy table's key columns (report/tables.py `KEYS`)."""


def _family_member(base: str, suffix: str) -> str:
    """ "mauve" with key "steps_5" reads "MAUVE (5 steps)"; another key reads as itself."""
    if suffix == "*":
        return base
    steps = re.fullmatch(r"steps_(\d+|\*)", suffix)
    if steps and steps.group(1) == "*":
        return base
    return f"{base} ({steps.group(1)} steps)" if steps else f"{base} ({suffix})"


_TEXT_SETS = "|".join(
    ("mauve", "judge_ppl", "distinct_2", "self_bleu", "memorization")
    + ("mean_length", "std_length", "empty_fraction", "grammatical", "grammar_nll")
)

Rule = Callable[[re.Match[str]], MetricInfo]


def _curve(match: re.Match[str]) -> MetricInfo:
    return metric_info(match["m"])


def _text_set(match: re.Match[str]) -> MetricInfo:
    base = METRICS[match["m"]]
    key = match["key"]
    return replace(base, display=_family_member(base.display, key))


def _numbered(display: str, unit: str | None, better: Better, fmt: str, word: str) -> Rule:
    """A family `<prefix><k>`: `display` with `word` and k, or just `display` for the pattern
    (`<prefix>*`), which figures draw against k."""

    def rule(match: re.Match[str]) -> MetricInfo:
        k = match["k"]
        shown = display if k == "*" else f"{display} {word.format(k=k.lstrip('0') or '0')}"
        return MetricInfo("", shown, unit, better, fmt)

    return rule


def _decoder_at_t(match: re.Match[str]) -> MetricInfo:
    k = match["k"]
    shown = "Decoder accuracy" if k == "*" else f"Decoder accuracy at t = {int(k) / 100:g}"
    return MetricInfo("", shown, "%", "higher", ".1%")


def _per_layer(display: str, unit: str | None, fmt: str) -> Rule:
    def rule(match: re.Match[str]) -> MetricInfo:
        layer = match["layer"]
        return MetricInfo("", display if layer == "*" else f"{display}, {layer}", unit, None, fmt)

    return rule


def _route_share(match: re.Match[str]) -> MetricInfo:
    """`route_unit2_class7`: the share of ReSet's routing steps that send digits 7 to unit 2."""
    k = match["k"]
    unit = "a unit" if match["u"] == "*" else f"unit {match['u']}"
    shown = f"Steps routed to {unit}" + ("" if k == "*" else f", digit {k}")
    return MetricInfo("", shown, "%", None, ".1%")


_COSTS = {"square": "(x − k)²", "cos": "cos kx", "exp": "exp(−kx²)"}


def _estimator_variance(match: re.Match[str]) -> MetricInfo:
    """`var_mu_cos_k2`: the per-sample variance of an estimator of ∂/∂μ E[cos 2x]."""
    param = "μ" if match["p"] == "mu" else "σ"
    shown = f"Variance of ∂/∂{param}, f = {_COSTS[match['cost']]}"
    if match["k"] != "*" and match["at"] == "s":  # the σ sweep: σ in hundredths
        shown += f", σ = {int(match['k']) / 100:g}"
    elif match["k"] != "*":
        shown += f", {match['at'].replace('n', 'N')} = {match['k']}"
    return MetricInfo("", shown, None, "lower", ".3g")


FAMILIES: tuple[tuple[re.Pattern[str], Rule], ...] = (
    (re.compile(r"curve_(?P<m>.+)"), _curve),
    (re.compile(rf"(?P<m>{_TEXT_SETS})_(?P<key>.+)"), _text_set),
    (
        re.compile(r"accuracy_after_chunk_(?P<k>\d+|\*)"),
        _numbered("Validation accuracy", "%", "higher", _PCT, "after chunk {k}"),
    ),
    (re.compile(r"decoder_acc_(?:t_)?(?P<k>\d+|\*)"), _decoder_at_t),
    (
        re.compile(r"x0_norm_(?:step_)?(?P<k>\d+|\*)"),
        _numbered("Norm of the predicted clean latent", None, None, ".3f", "at step {k}"),
    ),
    (
        re.compile(r"logq_gap_k(?P<k>\d+|\*)"),
        _numbered("Gap of the log q sandwich", "nats", "lower", ".3f", "at K = {k}"),
    ),
    (
        re.compile(r"sivi_logq_gap_k(?P<k>\d+|\*)"),
        _numbered("SIVI's gap of the log q sandwich", "nats", "lower", ".3f", "at K = {k}"),
    ),
    (
        re.compile(r"prior_gap_k(?P<k>\d+|\*)"),
        _numbered("Gap of the log p(z) sandwich", "nats", "lower", ".3f", "at K = {k}"),
    ),
    (
        re.compile(r"var_(?P<p>mu|sigma)_(?P<cost>square|cos|exp)_(?P<at>k|n|s)(?P<k>\d+|\*)"),
        _estimator_variance,
    ),
    (re.compile(r"route_unit(?P<u>\d+|\*)_class(?P<k>\d+|\*)"), _route_share),
    (
        re.compile(r"loss_increase_at_rate_(?P<k>\d+|\*)"),
        _numbered(
            "Validation NLL increase at perforation", "nats", "lower", ".3f", "at rate {k} %"
        ),
    ),
    (re.compile(r"sparsity_(?P<layer>\w+|\*)"), _per_layer("Zeroed weights", "%", ".1%")),
    (re.compile(r"kept_units_(?P<layer>\w+|\*)"), _per_layer("Units kept", None, _COUNT)),
    (re.compile(r"kept_fraction_(?P<layer>\w+|\*)"), _per_layer("Units kept", "%", ".1%")),
)
"""Rules for families of names, tried in order after the exact names: a pattern name such as
`mauve_steps_*` (what a figure of a numbered family names) gets the family's own display."""


def metric_info(name: str) -> MetricInfo:
    """How the metric `name` reads; `UnknownMetricError` (a KeyError) naming the closest known
    names if it is not registered: add it to `_ENTRIES` or `FAMILIES` here."""
    if name in METRICS:
        return METRICS[name]
    for pattern, rule in FAMILIES:
        match = pattern.fullmatch(name)
        if match:
            return replace(rule(match), name=name)
    near = difflib.get_close_matches(name, list(METRICS), n=3, cutoff=0.5)
    hint = f"; closest known: {', '.join(near)}" if near else ""
    raise UnknownMetricError(
        f"metric {name!r} is not in the metric registry{hint}. Register its display name, "
        "unit, better direction and format in methodlib/report/metric_registry.py"
    )


def _with_unit(display: str, unit: str | None) -> str:
    return f"{display} ({unit})" if unit else display


def axis_label(name: str) -> str:
    """ "Calibrated NLL (nats) ↓": the display name, the unit in brackets and an arrow pointing
    the way that is better. Also the key columns of the tidy table ("Method") and dotted config
    fields (`method.strategy` reads "Strategy")."""
    if name in TABLE_COLUMNS:
        return TABLE_COLUMNS[name]
    if "." in name and name not in METRICS:
        return name.rpartition(".")[2].replace("_", " ").capitalize()
    info = metric_info(name)
    arrow = ARROWS[info.better]
    return f"{_with_unit(info.display, info.unit)} {arrow}".rstrip()


def format_value(name: str, value: float) -> str:
    """The value as the metric's format writes it (`0.046` test error reads "4.60%")."""
    return format(value, metric_info(name).fmt)


def is_percent(name: str) -> bool:
    """Whether the metric is a fraction shown as a percentage (its axis ticks read 0-100)."""
    return metric_info(name).fmt.endswith("%")
