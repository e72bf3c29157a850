"""The pruning figures of a study and their paths, torch-free and plotting-free: the workflow's
targets (`rules/common.smk`), the report index and the plotting code (`pruning_plots`) all take
them from here."""

from __future__ import annotations

from methodlib.methods import method_config
from methodlib.spec import Pipeline


def pruning_experiments(pipeline: Pipeline, study: str) -> list[str]:
    """The study's experiments whose method prunes by a per-weight or per-unit statistic."""
    return [
        name
        for name in pipeline.experiments_in(study)
        if method_config(pipeline.experiments[name].method.name).variational_pruning
    ]


def histogram_path(experiment: str) -> str:
    """Relative to reports/, like the other figures."""
    return f"pruning/histograms/{experiment}.png"


def kept_fraction_path(study: str) -> str:
    return f"pruning/kept_fraction/{study}.png"


def pruning_figures(pipeline: Pipeline, study: str) -> list[tuple[str, str, str]]:
    """(title, path relative to reports/, caption) of every pruning figure of a study: the
    workflow's targets and the index's entries both come from here."""
    experiments = pruning_experiments(pipeline, study)
    if not experiments:
        return []
    figures = [
        (
            "kept_fraction",
            kept_fraction_path(study),
            "Fraction of neurons (fully connected layers) or channels (conv layers) that the "
            "pruned network keeps, per layer (mean and one standard deviation over seeds); "
            "`input` is the fraction of input features the first layer still reads.",
        )
    ]
    for name in experiments:
        caption = pipeline.experiments[name].method.pruning_caption(name)
        figures.append((f"{name}: pruning statistic", histogram_path(name), caption))
    return figures
