"""The text task's hooks: generated rows of ids decoded to texts beside the test texts (and the
method's extra sets under their keys), its report targets linked from the index, and that its
evaluation needs the prepared data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from methodlib.errors import RunError
from methodlib.methods.base import CLS, PAD, SEP
from methodlib.methods.text.ar_lm import ArLM
from methodlib.routines import get_routine
from methodlib.tasks import get_task
from tests.methods.text.text_helpers import text_batch, text_info
from tests.tasks.task_helpers import prepared, record, split

TASK = get_task("text")
ROUTINE = get_routine("text")
INFO = text_info(max_len=6)


class FixedRows(ArLM):
    """Generates `[CLS] the [SEP]` rows, and an extra set `twice` of `[CLS] the the [SEP]`."""

    def generate(self, model, n, device):
        return torch.tensor([[CLS, 4, SEP, PAD, PAD, PAD]] * n)

    def extra_samples(self, model, n, device):
        return {"twice": torch.tensor([[CLS, 4, 4, SEP, PAD, PAD]] * n)}


def data():
    x, lengths = text_batch(INFO, 8)
    texts = {"train": ["a"] * 8, "val": ["b"] * 8, "test": [f"text {i}" for i in range(5)]}
    return prepared(split(x, lengths), split(x, lengths), split(x[:5], lengths[:5]), texts=texts)


def test_test_outputs_are_decoded_rows_beside_the_test_texts():
    method = FixedRows(ArLM.Config(name="ar_lm", samples=3), "transformer_tiny", INFO)
    outputs = ROUTINE.test_outputs(method, method.build_model(), data(), batch_size=2, device="cpu")
    assert sorted(outputs) == [
        "reference",
        "sample_ids",
        "sample_ids_twice",
        "samples",
        "samples_twice",
    ]
    assert outputs["reference"].tolist() == [f"text {i}" for i in range(5)]
    assert outputs["sample_ids"].shape == (3, 6)
    assert outputs["samples"].tolist() == ["the"] * 3
    assert outputs["samples_twice"].tolist() == ["the the"] * 3
    assert all(v.dtype.kind in "Ui" for v in outputs.values())  # no pickled objects


def test_a_main_set_key_saves_the_main_set_under_it():
    class Reused(FixedRows):
        def main_set_keys(self):
            return ("again",)

    method = Reused(ArLM.Config(name="ar_lm", samples=3), "transformer_tiny", INFO)
    outputs = ROUTINE.test_outputs(method, method.build_model(), data(), batch_size=2, device="cpu")
    assert outputs["samples_again"].tolist() == outputs["samples"].tolist() == ["the"] * 3
    assert (outputs["sample_ids_again"] == outputs["sample_ids"]).all()


def test_validation_columns_are_the_loss_terms():
    torch.manual_seed(0)
    method = ArLM(ArLM.Config(name="ar_lm"), "transformer_tiny", INFO)
    columns = ROUTINE.validation_columns(method, method.build_model(), data(), 4, "cpu")
    assert list(columns) == ["val_loss"] and np.isfinite(columns["val_loss"])


def test_sample_tables_are_linked_from_the_index():
    assert TASK.report_targets("exp", None) == ["samples/exp.md"]
    assert TASK.index_links == "Generated texts"
    assert get_task("generation").index_links is None  # figures, not linked


def test_evaluation_needs_the_prepared_data(tmp_path):
    with pytest.raises(RunError, match="--data"):
        ROUTINE.evaluate(tmp_path, record("text"), judge=None, data=None)


def test_a_grammar_dataset_is_judged_exactly(tmp_path):
    from methodlib.data import prepare_dataset
    from methodlib.data.grammar import Grammar
    from methodlib.io import write_npz
    from methodlib.spec import GrammarDatasetSpec

    spec = GrammarDatasetSpec(source="grammar", n=60, max_len=24, max_words=10)
    assert not TASK.needs_judge(spec), "the grammar is the judge: no judge LM is trained"
    prepare_dataset("g", spec, tmp_path / "data")
    own = Grammar.seeded(0).sentences(4, 3, 10, seed=5)
    samples = [*own, "sleeps the dog", "dog the"]  # 4 of 6 grammatical
    reference = Grammar.seeded(0).sentences(6, 3, 10, seed=6)
    write_npz(
        tmp_path / "run" / "predictions.npz",
        samples=np.array(samples),
        samples_steps_5=np.array(own[:2] + ["the the"] * 4),
        reference=np.array(reference),
    )
    result = ROUTINE.evaluate(tmp_path / "run", record("text"), judge=None, data=tmp_path / "data")
    values = result["metrics"]
    assert values["grammatical"] == pytest.approx(4 / 6)
    assert values["grammatical_steps_5"] == pytest.approx(2 / 6)
    assert values["grammar_nll"] > 0 and values["grammar_nll_reference"] > 0
