"""The `sklearn_tabular` source and the datasets' `missing` field: tables prepare as real
vectors standardised by the training split, and adding `missing` leaves other datasets'
identities (and so their published runs) alone."""

from __future__ import annotations

import numpy as np
import pytest

from methodlib.data import load_prepared, prepare_dataset
from methodlib.spec import SpecError, trigger_fields, validate_pipeline

MCAR = {"kind": "mcar", "rate": 0.5}


def pipeline(datasets: dict):
    return validate_pipeline({"datasets": datasets})


@pytest.mark.parametrize(("name", "shape"), [("wine", (178, 13)), ("diabetes", (442, 10))])
def test_tables_prepare_as_standardised_real_vectors(name, shape, tmp_path):
    spec = pipeline({"t": {"source": "sklearn_tabular", "name": name, "missing": MCAR}}).datasets[
        "t"
    ]
    meta = prepare_dataset("t", spec, tmp_path)
    assert meta["domain"] == "real" and meta["input_shape"] == [shape[1]]
    assert sum(meta["sizes"].values()) == shape[0]
    train = load_prepared(tmp_path).train.x.numpy()
    np.testing.assert_allclose(train.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(train.std(0), 1, atol=1e-3)


def test_a_mask_has_a_known_kind():
    with pytest.raises(SpecError, match="kind"):
        pipeline({"t": {"source": "digits", "missing": {"kind": "diagonal"}}})


def test_no_mask_leaves_a_datasets_identity_unchanged():
    plain = pipeline({"d": {"source": "digits"}})
    masked = pipeline({"d": {"source": "digits", "missing": {"kind": "half"}}})
    assert "missing" not in trigger_fields(plain.datasets["d"])
    assert plain.dataset_hash("d") != masked.dataset_hash("d")
