"""The `grammar` text source and its exact judge: seeded sentences, the inside probability of a
sentence (summed over its parses), the length distribution, and the prepared grammar.json."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from methodlib.data import load_prepared, prepare_dataset
from methodlib.data.grammar import Grammar, grammar_scores
from methodlib.data.prepared import load_grammar
from methodlib.errors import RunError
from methodlib.spec import GrammarDatasetSpec


def shuffled(texts: list[str], seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for text in texts:
        words = text.split()
        rng.shuffle(words)
        out.append(" ".join(words))
    return out


def test_generator_is_deterministic_under_its_seeds():
    a = Grammar.seeded(3).sentences(40, 3, 12, seed=1)
    assert a == Grammar.seeded(3).sentences(40, 3, 12, seed=1)
    assert a != Grammar.seeded(3).sentences(40, 3, 12, seed=2)
    assert Grammar.seeded(3).to_json() != Grammar.seeded(4).to_json()
    assert all(3 <= len(t.split()) <= 12 for t in a)


def test_the_grammars_own_samples_are_all_grammatical_and_shuffles_almost_never():
    grammar = Grammar.seeded(0)
    texts = grammar.sentences(300, 4, 16, seed=0)
    own = grammar_scores(grammar, texts, 4, 16)
    assert own.grammatical == 1.0 and 0 < own.nll < 20
    assert grammar_scores(grammar, shuffled(texts), 4, 16).grammatical < 0.05
    assert grammar_scores(grammar, ["the dog sleeps"], 3, 16).grammatical == 1.0
    assert grammar_scores(grammar, ["the dog sleep"], 3, 16).grammatical == 0.0  # agreement
    assert grammar_scores(grammar, ["the dog flies"], 3, 16).grammatical == 0.0  # unknown word


def tiny() -> Grammar:
    """S → NP VP; NP → N | NP PP; VP → V NP | VP PP; PP → P NP: `a v a p b` has two parses."""
    rules = {
        "S": [(("NP", "VP"), 1.0)],
        "NP": [(("N",), 0.7), (("NP", "PP"), 0.3)],
        "VP": [(("V", "NP"), 0.8), (("VP", "PP"), 0.2)],
        "PP": [(("P", "NP"), 1.0)],
    }
    words = {"N": {"a": 0.6, "b": 0.4}, "V": {"v": 1.0}, "P": {"p": 1.0}}
    return Grammar(rules, words)


def test_inside_probability_sums_both_attachments():
    np_a, np_b = 0.7 * 0.6, 0.7 * 0.4
    pp_b = 1.0 * np_b
    noun_attached = np_a * 0.8 * (0.3 * np_a * pp_b)  # v [a [p b]]
    verb_attached = np_a * 0.2 * (0.8 * np_a) * pp_b  # [v a] [p b]
    logp = tiny().sentence_logprob("a v a p b")
    assert logp == pytest.approx(math.log(noun_attached + verb_attached), rel=1e-12)
    assert tiny().sentence_logprob("a v a") == pytest.approx(math.log(np_a * 0.8 * np_a))
    assert tiny().sentence_logprob("a a v") == -math.inf


def test_length_distribution_is_exact_and_matches_the_sampler():
    grammar = Grammar.seeded(1)
    assert grammar.length_logprob(1, 120) == pytest.approx(0.0, abs=1e-3)  # subcritical
    rng = np.random.default_rng(0)
    draws = [grammar.sample(rng) for _ in range(4000)]
    inside = np.mean([w is not None and 4 <= len(w) <= 8 for w in draws])
    p = math.exp(grammar.length_logprob(4, 8))
    assert abs(inside - p) < 4 * math.sqrt(p * (1 - p) / 4000)


def test_nll_is_under_the_length_conditioned_distribution():
    grammar = tiny()
    logp = grammar.sentence_logprob("a v a")
    scores = grammar_scores(grammar, ["a v a", "a v a p b"], 3, 3)
    assert scores.grammatical == 1.0  # the 5-word one is grammatical, outside the range
    assert scores.nll == pytest.approx(-(logp - grammar.length_logprob(3, 3)) / 3)


def test_prepared_grammar_dataset_stores_its_checked_grammar(tmp_path):
    spec = GrammarDatasetSpec(source="grammar", n=120, max_len=24, grammar_seed=2, max_words=10)
    meta = prepare_dataset("g", spec, tmp_path / "p")
    assert "grammar.json" in meta["checksums"] and sum(meta["sizes"].values()) == 120
    prepared = load_prepared(tmp_path / "p")
    grammar = load_grammar(prepared, tmp_path / "p")
    assert grammar.to_json() == Grammar.seeded(2).to_json()
    texts = prepared.texts["train"]
    assert grammar_scores(grammar, texts, 3, 10).grammatical == 1.0
    (tmp_path / "p" / "grammar.json").write_text("{}")
    with pytest.raises(RunError, match="modified"):
        load_grammar(prepared, tmp_path / "p")


def test_spec_checks_the_length_range():
    with pytest.raises(ValidationError, match="max_words 2 is below min_words 3"):
        GrammarDatasetSpec(source="grammar", max_words=2)
