"""What experiments, methods and models are called in legends, tick labels and tables: a
reader sees "SWAG" or "Deep ensemble", never `swag_lenet5_mnist5k`.

An experiment reads as its YAML `label`, or else its method's display name
(`MethodConfig.display_name`). Where two experiments shown together would read the same, each
gets what tells them apart in brackets: its dataset, its model, or else the config fields in
which they differ ("SWA (predict with: final iterate)"). A deep ensemble (the rows of an
experiment's `ensemble` group, seed `all`) reads "Deep ensemble" for dense members, else
"Ensemble of <method>". Torch-free.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from methodlib.methods import method_config
from methodlib.spec import Pipeline

MODEL_LABELS = {
    "lenet300_100": "LeNet-300-100",
    "lenet300_100_bn": "LeNet-300-100 + BN",
    "lenet5": "LeNet-5",
    "lenet5_bn": "LeNet-5 + BN",
    "mlp_denoiser": "MLP denoiser",
    "conv_denoiser": "Conv. denoiser",
    "dcgan": "DCGAN",
    "transformer_tiny": "Transformer (tiny)",
    "transformer_small": "Transformer (small)",
    "transformer_base": "Transformer (base)",
}
"""Architectures as papers name them; a model not listed reads as its catalogue name."""

ENSEMBLE_SEED = "all"
"""The tidy table's seed of an experiment's group rows: its deep ensemble."""


def model_label(model: str) -> str:
    return MODEL_LABELS.get(model, model)


def method_label(method: str) -> str:
    """The method's display name ("Sparse VD"), from its config class."""
    return method_config(method).display_name


def _base(pipeline: Pipeline, experiment: str) -> str:
    exp = pipeline.experiments[experiment]
    return exp.label or exp.method.display_name


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(_flat(item, f"{prefix}.{key}" if prefix else key))
    return out


def _show(field: str, value: Any) -> str:
    """`method.predict_with` = "final_iterate" reads "predict with: final iterate"."""
    if field == "model":
        return model_label(value)
    if field == "dataset":
        return str(value)
    text = str(value).replace("_", " ") if isinstance(value, str) else f"{value}"
    return f"{field.rsplit('.', 1)[-1].replace('_', ' ')}: {text}"


def _qualifiers(
    pipeline: Pipeline, experiments: list[str], shown: Iterable[str] = ()
) -> dict[str, str]:
    """For experiments that share a base name: the fewest distinguishing fields, in the order
    dataset, model, then config fields, that make their names distinct; not those `shown`
    elsewhere in the figure (its panels' dataset, say)."""
    skip = {FIELD_OF_COLUMN.get(c, c) for c in shown}
    configs = {}
    for e in experiments:
        resolved = pipeline.resolved_experiment(e)
        configs[e] = {
            "dataset": resolved["dataset"]["name"],
            "model": resolved["model"],
            **_flat({k: resolved[k] for k in ("method", "training", "init_from")}),
        }
    fields = list(dict.fromkeys(f for c in configs.values() for f in c))
    differing = [
        f for f in fields if f not in skip and len({repr(c.get(f)) for c in configs.values()}) > 1
    ]
    chosen: list[str] = []
    for field in differing:
        chosen.append(field)
        shown = {e: tuple(_show(f, configs[e].get(f)) for f in chosen) for e in experiments}
        if len(set(shown.values())) == len(experiments):
            break
    out = {e: ", ".join(_show(f, configs[e].get(f)) for f in chosen) for e in experiments}
    if len(set(out.values())) < len(experiments):  # identical configs: the keys tell them apart
        out = {e: f"{q}, {e}" if q else e for e, q in out.items()}
    return out


FIELD_OF_COLUMN = {"method": "method.name"}
"""The config field behind a figure column, where their names differ."""


def experiment_labels(
    pipeline: Pipeline, experiments: Iterable[str], shown: Iterable[str] = ()
) -> dict[str, str]:
    """The legend name of each of `experiments` (those drawn together), distinct; columns
    `shown` elsewhere in the figure (a panel's dataset) do not qualify names."""
    experiments = list(dict.fromkeys(experiments))
    groups: dict[str, list[str]] = {}
    for e in experiments:
        groups.setdefault(_base(pipeline, e), []).append(e)
    labels = {}
    for base, members in groups.items():
        if len(members) == 1:
            labels[members[0]] = base
            continue
        for e, qualifier in _qualifiers(pipeline, members, shown).items():
            labels[e] = f"{base} ({qualifier})" if qualifier else base
    return {e: labels[e] for e in experiments}


def experiment_label(
    pipeline: Pipeline, experiment: str, among: Iterable[str] | None = None
) -> str:
    """The experiment's legend name, told apart from the others `among` (default: every
    experiment its study reports)."""
    if among is None:
        among = pipeline.reported_experiments(pipeline.experiments[experiment].study)
    return experiment_labels(pipeline, [experiment, *among])[experiment]


def ensemble_label(pipeline: Pipeline, experiment: str, label: str) -> str:
    """The name of the deep ensemble of the experiment's runs, given the experiment's `label`:
    "Deep ensemble" for dense networks (with the label's qualifier in brackets), else
    "Ensemble of <label>"."""
    if pipeline.experiments[experiment].method.name != "dense":
        return f"Ensemble of {label}"
    base = _base(pipeline, experiment)
    qualifier = label[len(base) :] if label.startswith(base) else ""
    return "Deep ensemble" + qualifier


def run_labels(pipeline: Pipeline, experiments: Iterable[str], seeds: Iterable[str]) -> list[str]:
    """The legend name of each row of (experiment, seed) pairs of the tidy table: the
    experiment's name, or its ensemble's for the group rows (seed `all`)."""
    pairs = list(zip(experiments, seeds, strict=True))
    labels = experiment_labels(pipeline, [e for e, _ in pairs])
    return [
        ensemble_label(pipeline, e, labels[e]) if str(s) == ENSEMBLE_SEED else labels[e]
        for e, s in pairs
    ]


def value_label(pipeline: Pipeline, column: str, value: Any) -> str:
    """A value of a table column or config field as a reader reads it (`method` sparse_vd
    reads "Sparse VD", `model` lenet5 "LeNet-5"); experiments go through `run_labels`."""
    if column == "method" or column == "method.name":
        return method_label(str(value))
    if column == "model":
        return model_label(str(value))
    if isinstance(value, str):
        return value.replace("_", " ") if column.startswith(("method.", "training.")) else value
    return f"{value:g}" if isinstance(value, float) else str(value)
