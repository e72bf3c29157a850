"""Figures of the Bayesian pruning methods that the YAML figure kinds cannot draw.

- Per experiment: a histogram per layer of the statistic pruning thresholds (sparse VD and
  VD-ARD: log α of every weight; SBP: log10 SNR of every neuron/channel), pooled over seeds,
  with the threshold marked. Read from the runs' `model.pt`.
- Per study: the fraction of neurons/channels kept in every layer, from the tidy table's
  `kept_fraction_<layer>` metrics, one panel per dataset × model, bars per method.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on cluster nodes or CI

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402

from methodlib.errors import RunError  # noqa: E402
from methodlib.io import read_json  # noqa: E402
from methodlib.methods import METHODS, DataInfo  # noqa: E402
from methodlib.methods.pruning.variational import VariationalMethod  # noqa: E402
from methodlib.report.figure_style import format_axis, place_legend  # noqa: E402
from methodlib.report.labels import experiment_label, method_label, model_label  # noqa: E402
from methodlib.report.metric_registry import axis_label  # noqa: E402
from methodlib.report.plots import save_figure  # noqa: E402
from methodlib.report.tables import read_tidy, run_rows  # noqa: E402
from methodlib.spec import Pipeline  # noqa: E402

KEPT_PREFIX = "kept_fraction_"


def plot_unit_statistics(
    pipeline: Pipeline,
    experiment: str,
    models: list[str | Path],
    out: str | Path,
    data_dir: str | Path,
) -> None:
    """Histograms per layer of the pruning statistic of an experiment's runs (`model.pt`)."""
    exp = pipeline.experiments[experiment]
    meta = read_json(Path(data_dir) / "meta.json")
    info = DataInfo(tuple(meta["input_shape"]), meta["n_classes"], meta["sizes"]["train"])
    method = METHODS[exp.method.name](exp.method, exp.model, info)
    if not isinstance(method, VariationalMethod):
        raise RunError(f"{experiment}: method {exp.method.name!r} has no pruning statistic")
    model = method.build_model()
    pooled: dict[str, list[torch.Tensor]] = {}
    thresholds: dict[str, tuple[float, str]] = {}
    for path in models:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file: say which one
            raise RunError(f"{path}: unreadable checkpoint ({exc})") from None
        model.load_state_dict(state["model"])
        for layer, (values, threshold, label) in method.unit_statistics(model).items():
            pooled.setdefault(layer, []).append(values)
            thresholds[layer] = threshold, label
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(1, len(pooled), figsize=(3 * len(pooled), 2.8), squeeze=False)
    for ax, (layer, parts) in zip(axes[0], pooled.items(), strict=True):
        values = torch.cat(parts).numpy()
        threshold, label = thresholds[layer]
        pruned = values <= threshold if label.endswith("SNR") else values >= threshold
        ax.hist(values, bins=50, color="C0", log=True)
        ax.axvline(threshold, color="C3", linestyle="--")
        ax.set_title(f"{layer}: {pruned.mean():.1%} pruned")
        ax.set_xlabel(label)
        format_axis(ax.yaxis, "count", log=True)
    axes[0][0].set_ylabel("Count")
    fig.suptitle(f"{experiment_label(pipeline, experiment)}: {len(models)} seed(s) pooled")
    fig.tight_layout()
    save_figure(fig, out)


def plot_kept_fraction(
    pipeline: Pipeline, study: str, tidy_csv: str | Path, out: str | Path
) -> None:
    """Bars of kept neurons/channels per layer, per method, one panel per dataset × model."""
    tidy = run_rows(read_tidy(tidy_csv))
    rows = tidy[
        tidy["experiment"].isin(pipeline.reported_experiments(study))
        & tidy["metric"].str.startswith(KEPT_PREFIX)
    ].copy()
    if rows.empty:
        raise RunError(f"study {study!r}: no run has {KEPT_PREFIX}<layer> metrics")
    rows["layer"] = rows["metric"].str.removeprefix(KEPT_PREFIX)
    rows = rows.sort_values("layer", key=lambda s: s.map(_layer_order), kind="stable")
    methods = [pipeline.experiments[e].method.name for e in pipeline.experiments]
    order = [method_label(m) for m in dict.fromkeys(methods) if m in set(rows["method"])]
    rows["method"] = rows["method"].map(method_label)  # in file order: the YAML figures' colours
    rows["model"] = rows["model"].map(model_label)
    y = f"{KEPT_PREFIX}*"
    rows = rows.rename(columns={"value": y})
    sns.set_theme(style="whitegrid", context="paper")
    grid = sns.catplot(
        data=rows,
        kind="bar",
        x="layer",
        y=y,
        hue="method",
        hue_order=order,
        row="dataset",
        col="model",
        sharex=False,
        errorbar="sd",
        capsize=0.1,
        height=2.8,
    )
    grid.set_titles("{row_name} · {col_name}")
    grid.set_axis_labels("Layer", axis_label(y))
    for ax in grid.axes.flat:
        format_axis(ax.yaxis, y, log=False)
    place_legend(grid, axis_label("method"), order)
    grid.figure.suptitle("Neurons and channels kept per layer", y=1.02)
    save_figure(grid.figure, out)


def _layer_order(layer: str) -> tuple[int, int]:
    """input, conv1, conv2, ..., fc1, fc2, ...: the order data flows through."""
    kind = layer.rstrip("0123456789")
    return {"input": 0, "conv": 1, "fc": 2}.get(kind, 3), int(layer[len(kind) :] or 0)
