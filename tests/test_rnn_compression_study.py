"""Issue 31's recipe for the rnn_compression study: the dense baseline stops on its validation
loss, and each sparse classifier's arm is a choice on validation that holds the reference
recipe of tipt0p/SparseBayesianRNN (from scratch, β = 1 without warm-up, one rate 5e-4,
log σ² = −6, hard-sigmoid gates, batch 128) among its candidates."""

from __future__ import annotations

from pathlib import Path

from methodlib.spec import load_pipeline

PIPELINE = load_pipeline(Path(__file__).parents[1] / "pipeline.yaml")


def test_dense_baseline_stops_at_its_lowest_validation_loss():
    stopping = PIPELINE.experiments["dense_lstm_fortunes"].training.early_stopping
    assert stopping is not None and stopping.by == "val_nll" and stopping.better == "lower"
    assert stopping.restore_best


def test_each_sparse_arm_is_a_selection_holding_the_reference_recipe():
    for claim in ("sparsevd_lstm_keeps_accuracy", "sparsevd_voc_keeps_accuracy"):
        arm = PIPELINE.claims[claim].order[0]
        selection = PIPELINE.selections[arm]
        assert selection.by.startswith("val_")
        reference = [
            m
            for m in selection.members
            if PIPELINE.experiments[m].init_from is None
            and PIPELINE.experiments[m].method.kl_weight == 1.0
            and PIPELINE.experiments[m].method.kl_warmup == 0.0
            and PIPELINE.experiments[m].method.variational_lr_scale == 1.0
            and PIPELINE.experiments[m].method.log_sigma2_init == -6.0
            and PIPELINE.experiments[m].method.gates == "hard_sigmoid"
            and PIPELINE.experiments[m].training.lr == 5e-4
            and PIPELINE.experiments[m].training.batch_size == 128
        ]
        assert reference, f"{arm}: no member trains the reference recipe"
