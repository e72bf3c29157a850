"""How figures read: display names in legends and ticks, labelled axes, the legend outside the
data, the diagonal inside the data's limits, and the paper's values as reference markers."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from methodlib.errors import RunError
from methodlib.methods import METHOD_CONFIGS
from methodlib.report import plots
from methodlib.report.figure_style import REFERENCE_STYLE
from methodlib.report.labels import ensemble_label, experiment_label, experiment_labels
from methodlib.report.tables import COLUMNS
from methodlib.spec import FigureSpec
from tests.conftest import tiny_pipeline

DIGITS = {"dataset": "digits", "model": "lenet300_100"}


def pipeline_of_three():
    """`exp` dense on LeNet-300-100, `small` dense on LeNet-5, `mc` MC dropout."""
    return tiny_pipeline(
        others={
            "small": {**DIGITS, "model": "lenet5", "method": {"name": "dense"}},
            "mc": {**DIGITS, "method": {"name": "mc_dropout"}},
        }
    )


def test_every_method_names_itself_for_the_reader():
    names = {}
    for name, config in METHOD_CONFIGS.items():
        assert "display_name" in vars(config), f"{config.__name__} inherits its display name"
        names[name] = config.display_name
    assert len(set(names.values())) == len(names)
    assert names["mc_dropout"] == "MC dropout" and names["sparse_vd"] == "Sparse VD"


def test_experiments_read_as_their_method_told_apart_only_where_needed():
    pipeline = pipeline_of_three()
    assert experiment_labels(pipeline, ["exp", "small", "mc"]) == {
        "exp": "Dense (LeNet-300-100)",
        "small": "Dense (LeNet-5)",
        "mc": "MC dropout",
    }
    assert experiment_label(pipeline, "exp", among=["mc"]) == "Dense"
    # nothing left to tell them apart by but what is shown elsewhere: their keys
    assert experiment_labels(pipeline, ["exp", "small"], shown=["model"]) == {
        "exp": "Dense (exp)",
        "small": "Dense (small)",
    }


def test_a_yaml_label_overrides_the_display_name_and_config_fields_tell_runs_apart():
    pipeline = tiny_pipeline(
        method={"name": "swa"},
        label="SWA, final iterate",
        others={
            "avg": {**DIGITS, "method": {"name": "swa"}},
            "avg_lr": {**DIGITS, "method": {"name": "swa", "swa_lr": 0.1}},
        },
    )
    labels = experiment_labels(pipeline, ["exp", "avg", "avg_lr"])
    assert labels == {
        "exp": "SWA, final iterate",
        "avg": "SWA (swa lr: 0.5)",
        "avg_lr": "SWA (swa lr: 0.1)",
    }


def test_a_deep_ensemble_is_named_for_what_it_is():
    pipeline = pipeline_of_three()
    assert ensemble_label(pipeline, "exp", "Dense (LeNet-300-100)") == (
        "Deep ensemble (LeNet-300-100)"
    )
    assert ensemble_label(pipeline, "mc", "MC dropout") == "Ensemble of MC dropout"


def reference(**points):
    return {"source": "Someone et al. 2017, Table 1", "points": [points]}


def test_reference_points_are_validated_with_the_field_named():
    with pytest.raises(ValidationError, match="reference.points.0.hue"):
        FigureSpec(x="model", y="test_error", reference=reference(x="lenet5", y=0.01, hue="a"))
    with pytest.raises(ValidationError, match="source"):
        FigureSpec(x="model", y="test_error", reference={"points": [{"x": 1, "y": 2}]})
    with pytest.raises(ValidationError, match="points"):
        FigureSpec(x="model", y="test_error", reference={"source": "paper", "points": []})
    with pytest.raises(ValidationError, match="y"):
        FigureSpec(x="model", y="test_error", reference=reference(x="lenet5"))


def tidy(values: dict[tuple[str, str], float], metric: str = "test_error") -> pd.DataFrame:
    methods = {"exp": "dense", "small": "dense", "mc": "mc_dropout"}
    models = {"small": "lenet5"}
    rows = [
        {
            "experiment": e,
            "method": methods[e],
            "dataset": "digits",
            "model": models.get(e, "lenet300_100"),
            "seed": seed,
            "samples": 1,
            "metric": metric,
            "value": v,
        }
        for (e, seed), v in values.items()
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """Draw a figure of `pipeline_of_three` and hand back its matplotlib figure."""
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, out: figures.append(fig))

    def draw(figure: FigureSpec, frame: pd.DataFrame):
        pipeline = pipeline_of_three()
        pipeline.reports["f"] = figure
        frame.to_csv(tmp_path / "t.csv", index=False)
        plots.plot_figure(pipeline, "f", tmp_path / "t.csv", tmp_path / "f.png")
        figures[-1].canvas.draw()
        return figures[-1]

    return draw


RUNS = {("exp", "0"): 0.02, ("exp", "1"): 0.04, ("small", "0"): 0.01, ("mc", "0"): 0.03}


def test_a_bar_figure_speaks_in_display_names_and_registry_labels(drawn):
    fig = drawn(FigureSpec(x="experiment", y="test_error"), tidy(RUNS))
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["Dense (LeNet-300-100)", "Dense (LeNet-5)", "MC dropout"]  # file order
    assert ax.get_ylabel() == "Test error (%) ↓"
    assert ax.get_xlabel() == "Experiment"
    assert ax.yaxis.get_major_formatter()(0.02, 0) == "2"  # a fraction read as a percentage


def test_names_are_told_apart_within_a_panel_not_by_its_title(drawn):
    fig = drawn(FigureSpec(x="experiment", y="test_error", col="model"), tidy(RUNS))
    panels = {ax.get_title(): [t.get_text() for t in ax.get_xticklabels()] for ax in fig.axes}
    assert panels == {
        "Model: LeNet-300-100": ["Dense", "MC dropout"],
        "Model: LeNet-5": ["Dense"],
    }


def test_the_paper_s_values_are_hollow_markers_at_their_category(drawn):
    figure = FigureSpec(
        x="experiment", y="test_error", reference=reference(x="mc", y=0.05), kind="point"
    )
    ax = drawn(figure, tidy(RUNS)).axes[0]
    marks = [c for c in ax.collections if c.get_label() == "paper"]
    assert len(marks) == 1
    assert marks[0].get_offsets().tolist() == [[2.0, 0.05]]
    assert marks[0].get_facecolors().size == 0 or marks[0].get_facecolors()[0][3] == 0
    assert REFERENCE_STYLE["edgecolors"] == "black"
    assert ax.get_ylim()[1] > 0.05  # the scale makes room for the paper's value


def test_a_reference_point_off_the_figure_is_named(drawn):
    figure = FigureSpec(x="experiment", y="test_error", reference=reference(x="nope", y=0.05))
    with pytest.raises(RunError, match="'nope' is not among the figure's values"):
        drawn(figure, tidy(RUNS))


def test_the_legend_lies_outside_every_panel(drawn):
    figure = FigureSpec(
        kind="scatter",
        x="params",
        y="test_error",
        hue="experiment",
        reference=reference(x=2000, y=0.02),
    )
    values = {**RUNS, ("exp", "1"): 0.02}
    params = {(e, s): {"exp": 1000, "small": 3000, "mc": 1000}[e] for e, s in values}
    frame = pd.concat([tidy(values), tidy(params, "params")], ignore_index=True)
    fig = drawn(figure, frame)
    legend = fig.legends[0]
    labels = [t.get_text() for t in legend.texts]
    assert labels == ["Dense (LeNet-300-100)", "Dense (LeNet-5)", "MC dropout", "paper"]
    box = legend.get_window_extent()
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent())


def test_the_diagonal_does_not_set_the_scale(drawn):
    figure = FigureSpec(kind="scatter", x="params", y="test_error", diagonal=True)
    params = {key: 1000.0 for key in RUNS}
    fig = drawn(figure, pd.concat([tidy(RUNS), tidy(params, "params")], ignore_index=True))
    ax = fig.axes[0]
    diagonal = [line for line in ax.lines if line.get_label() == "y = x"]
    assert len(diagonal) == 1
    assert ax.get_ylim()[1] < 1  # the data's errors, not the line's 1000


def test_count_ticks_stay_short_so_neighbours_never_overlap():
    from methodlib.report.figure_style import _count

    assert [_count(v) for v in (0, 500, 5000, 50_000, 1_200_000)] == [
        "0",
        "500",
        "5,000",
        "50k",
        "1.2M",
    ]
