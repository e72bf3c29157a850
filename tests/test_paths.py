"""Where artifacts live (`methodlib.paths`) and the input functions the rules call
(`methodlib.workflow`): content-addressed runs and data, per-file reports, every run a target."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from methodlib.paths import Layout, reports_dir
from methodlib.spec import validate_pipeline
from methodlib.workflow import Inputs

PIPELINE = """\
seeds: [0, 1]
datasets:
  digits: {source: digits, limit: 200}
  cube: {source: synthetic, kind: cube, dim: 2}
studies:
  base: {reliability: true}
  gen: {}
experiments:
  mlp: {study: base, dataset: digits, model: lenet300_100, method: {name: dense}}
  fine:
    study: base
    dataset: digits
    model: lenet300_100
    method: {name: sparse_vd}
    init_from: mlp
    ensemble: {}
  ddpm: {study: gen, dataset: cube, model: mlp_denoiser, method: {name: ddpm}, seeds: [3]}
reports:
  error: {study: base, x: experiment, y: test_error}
"""


def pipeline(edit=None):
    raw = yaml.safe_load(PIPELINE)
    if edit:
        edit(raw)
    return validate_pipeline(copy.deepcopy(raw))


@pytest.fixture
def layout() -> Layout:
    return Layout(pipeline())


def test_runs_and_data_live_under_their_config_hash(layout):
    p = layout.pipeline
    assert layout.run_dir("mlp", 1) == f"results/mlp/{p.experiment_hash('mlp')}/seed1"
    assert layout.prepared("digits") == f"data/prepared/digits/{p.dataset_hash('digits')}"
    assert layout.judge("digits") == f"results/judges/digits/{p.judge_hash('digits')}/model.pt"
    assert layout.group_dir("fine") == f"results/fine/{p.experiment_hash('fine')}/group"


def test_a_dataset_edit_moves_its_data_and_every_run_on_it(layout):
    def fewer(raw):
        raw["datasets"]["digits"]["limit"] = 100

    edited = Layout(pipeline(fewer))
    assert edited.prepared("digits") != layout.prepared("digits")
    for experiment in ("mlp", "fine"):  # `fine` also through its init_from source
        assert edited.run_dir(experiment, 0) != layout.run_dir(experiment, 0)
    assert edited.run_dir("ddpm", 3) == layout.run_dir("ddpm", 3)
    assert edited.prepared("cube") == layout.prepared("cube")


def test_the_same_experiment_in_another_file_shares_its_runs(layout, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other = Layout(pipeline(), "configs/copy.yaml")
    assert other.run_dir("mlp", 0) == layout.run_dir("mlp", 0)
    assert other.reports == "reports/pipelines/configs/copy"
    assert layout.reports == "reports"


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("pipeline.yaml", "reports"),
        ("./pipeline.yaml", "reports"),
        ("configs/tiny.yaml", "reports/pipelines/configs/tiny"),
        ("studies/pipeline.yaml", "reports/pipelines/studies/pipeline"),
        ("/elsewhere/mine.yaml", "reports/pipelines/mine"),
    ],
)
def test_reports_of_each_pipeline_file_have_their_own_folder(tmp_path, monkeypatch, file, expected):
    monkeypatch.chdir(tmp_path)
    assert reports_dir(file) == expected


def test_every_run_is_a_target_so_a_clone_with_reports_still_trains_it(layout):
    targets = set(layout.all_targets())
    for experiment, seed in layout.pipeline.runs():
        assert f"{layout.run_dir(experiment, seed)}/metrics.json" in targets
    assert f"{layout.group_dir('fine')}/metrics.json" in targets
    assert {"reports/metrics.csv", "reports/index.md", "reports/reliability/base.png"} <= targets
    assert "reports/risk_coverage/base.png" in targets, "a study of classifiers gets one"
    assert "reports/risk_coverage/gen.png" not in targets
    assert "reports/samples/ddpm.png" in targets, "the generation task adds its samples figure"
    assert "reports/pruning/histograms/fine.png" in targets
    assert "reports/figures/base/error.png" in targets


def test_a_new_judge_recipe_moves_the_judge_and_nothing_else(layout, monkeypatch):
    import dataclasses

    import methodlib.judge_recipes as recipes

    inputs = Inputs(layout, ancient=lambda path: f"ancient:{path}")
    job = wildcards(dataset="digits", hash=layout.pipeline.judge_hash("digits"))
    assert inputs.judge_data(job) == f"ancient:{layout.prepared('digits')}"
    judge = layout.judge("digits")
    unshifted = dataclasses.replace(recipes.IMAGE_JUDGE, shift_fraction=None)
    monkeypatch.setattr(recipes, "IMAGE_JUDGE", unshifted)
    edited = Layout(pipeline())
    assert edited.judge("digits") != judge, "a retrained judge needs a new path"
    assert edited.prepared("digits") == layout.prepared("digits")
    assert edited.run_dir("mlp", 0) == layout.run_dir("mlp", 0)
    with pytest.raises(ValueError, match="judge recipe"):
        Inputs(edited, ancient=str).judge_data(job)


def test_a_test_mask_or_training_noise_shares_the_clean_datasets_judge():
    """Issue 32: mnist5k_half, mnist5k_noise50 and mnist5k_noise80 each trained their own
    judge (a minute or more of CPU each), mnist5k_half's bit for bit mnist5k's."""

    def variants(raw):
        raw["datasets"]["digits_half"] = {
            "source": "digits",
            "limit": 200,
            "missing": {"kind": "half"},
        }
        raw["datasets"]["digits_noise"] = {"source": "digits", "limit": 200, "noise_share": 0.5}
        raw["datasets"]["digits_noise_only"] = {"source": "digits", "noise_share": 0.8}
        raw["datasets"]["digits_more"] = {
            "source": "digits",
            "limit": 300,
            "missing": {"kind": "half"},
        }

    shared = Layout(pipeline(variants))
    p = shared.pipeline
    assert shared.judge("digits_half") == shared.judge("digits")
    assert shared.judge("digits_noise") == shared.judge("digits")
    assert shared.judge("digits") == Layout(pipeline()).judge("digits"), "the clean one stays"
    # without a clean twin in the file a dataset keeps its own judge
    assert p.judge_dataset("digits_noise_only") == "digits_noise_only"
    assert p.judge_dataset("digits_more") == "digits_more"
    assert shared.judge("digits_more") != shared.judge("digits")
    # the twin's own judge path is no job: nothing trains it twice
    inputs = Inputs(shared, ancient=str)
    with pytest.raises(ValueError, match="shares another's judge"):
        inputs.judge_data(wildcards(dataset="digits_half", hash=p.judge_hash("digits_half")))
    assert inputs.judge_data(wildcards(dataset="digits", hash=p.judge_hash("digits")))


def test_the_judge_is_an_input_of_image_generation_only():
    def on_digits(raw):
        raw["experiments"]["ddpm"].update(dataset="digits", model="conv_denoiser")

    assert Layout(pipeline()).judge_inputs("ddpm") == [], "synthetic data has no judge"
    images = Layout(pipeline(on_digits))
    assert images.judge_inputs("ddpm") == [images.judge("digits")]
    assert images.judge_inputs("mlp") == []


def wildcards(**values) -> SimpleNamespace:
    return SimpleNamespace(**{k: str(v) for k, v in values.items()})


def test_input_functions_refuse_a_path_of_another_config(layout):
    inputs = Inputs(layout, ancient=lambda path: f"ancient:{path}")
    current = layout.pipeline.experiment_hash("fine")
    job = wildcards(experiment="fine", hash=current, seed=1)
    assert inputs.prepared_data(job) == f"ancient:{layout.prepared('digits')}"
    assert inputs.init_weights(job) == [f"{layout.run_dir('mlp', 1)}/model.pt"]
    with pytest.raises(ValueError, match="not the current config of 'fine'"):
        inputs.prepared_data(wildcards(experiment="fine", hash="0" * 16, seed=1))
    with pytest.raises(ValueError, match="not an experiment"):
        inputs.experiment_config(wildcards(experiment="nope", hash=current, seed=0))


def test_options_follow_the_optional_inputs():
    with_init = SimpleNamespace(init=["results/mlp/abc/seed0/model.pt"])
    assert Inputs.init_option(None, with_init) == "--init results/mlp/abc/seed0"
    assert Inputs.init_option(None, SimpleNamespace(init=[])) == ""
    assert Inputs.data_option(None, SimpleNamespace(data=["data/prepared/x/h"])) == (
        "--data data/prepared/x/h"
    )


def test_layout_paths_are_relative_posix(layout):
    for path in layout.all_targets():
        assert not Path(path).is_absolute() and "\\" not in path


def test_a_relabelled_experiment_decides_the_claims_again_and_keeps_its_runs(layout):
    """The claims page names the arms by their labels, so a label is a param of the claims
    job; it is not part of the run's config, so no run trains again."""

    def relabel(raw):
        raw["experiments"]["mlp"]["label"] = "a new name"

    edited = Layout(pipeline(relabel))
    before = Inputs(layout, ancient=str).claims_config(wildcards())
    after = Inputs(edited, ancient=str).claims_config(wildcards())
    assert before != after
    assert edited.run_dir("mlp", 0) == layout.run_dir("mlp", 0)
