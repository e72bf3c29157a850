"""The text task's evaluation: every text metric (`metrics/text.py`) of each generated set
against the test texts, with MiniLM features for `mauve` and the dataset's judge LM for
`judge_ppl`; on a `grammar` dataset also the exact judge (`grammatical`, the share of texts
the grammar derives, and `grammar_nll`, their true NLL per word; `grammar_nll_reference` is the
test texts' own); metrics of an extra set carry its key (`mauve_steps_5`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from methodlib.errors import RunError
from methodlib.io import read_npz
from methodlib.routines.base import run_result


def text_sets(path: str | Path) -> tuple[dict[str, list[str]], list[str]]:
    """The generated text sets of a text run (`""` for the main sampler, `"_steps_5"`, ... for
    the extra ones) and the reference texts."""
    with read_npz(path) as outputs:
        sets = {
            key.removeprefix("samples"): outputs[key].tolist()
            for key in outputs.files
            if key.startswith("samples")
        }
        return sets, outputs["reference"].tolist()


def evaluate_text(
    run_dir: Path, record: dict[str, Any], judge: str | Path | None, data: str | Path | None
) -> dict[str, Any]:
    """metrics.json of a text run; `data` is its prepared dataset (the training texts, for
    `memorization`), `judge` the dataset's judge LM (`judge_ppl`, skipped without one)."""
    from methodlib.data import load_prepared
    from methodlib.data.grammar import grammar_scores
    from methodlib.data.prepared import load_grammar
    from methodlib.metrics.text import text_metrics
    from methodlib.text_judge import TextJudge, sentence_features

    if data is None:
        raise RunError(f"{run_dir}: a text run is evaluated with its prepared data (--data)")
    prepared = load_prepared(data)
    train = prepared.texts["train"]
    grammar = load_grammar(prepared, data)
    lengths = (prepared.meta["spec"]["min_words"], prepared.meta["spec"].get("max_words"))
    sets, reference = text_sets(run_dir / "predictions.npz")
    ref_features = sentence_features(reference)
    scorer = TextJudge(judge) if judge is not None else None
    metrics: dict[str, Any] = {}
    for suffix, texts in sorted(sets.items()):
        scores = text_metrics(texts, reference, train, sentence_features(texts), ref_features)
        if scorer is not None:
            scores["judge_ppl"] = scorer.perplexity(texts)
        if grammar is not None:
            exact = grammar_scores(grammar, texts, *lengths)
            scores["grammatical"], scores["grammar_nll"] = exact.grammatical, exact.nll
        metrics.update({f"{name}{suffix}": value for name, value in scores.items()})
    if scorer is not None:
        metrics["judge_ppl_reference"] = scorer.perplexity(reference)
    if grammar is not None:
        metrics["grammar_nll_reference"] = grammar_scores(grammar, reference, *lengths).nll
    metrics.update(record["model_stats"])
    metrics["train_seconds"] = record["train_seconds"]
    return run_result(record, metrics)
