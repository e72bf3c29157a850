"""A seeded probabilistic context-free grammar of English sentences: the `grammar` text source,
and its exact judge.

Why: on real text a small CPU model writes topical word salad and a judge LM trained on the same
few thousand texts cannot say whose salad is better. On a language drawn from a known grammar
the judge is exact: a sentence is grammatical when the grammar derives it, and its probability
is the sum over all its derivations (the inside algorithm), so "how good are the samples" has a
true answer that does not depend on a learned model.

The grammar: sentences are a subject noun phrase and a verb phrase that agree in number;
noun phrases take adjectives, prepositional phrases and relative clauses (`that` + a verb phrase
agreeing with the head noun), verb phrases take objects and prepositional phrases, so length
and nesting vary and prepositional attachment is ambiguous (the inside probability sums the
readings). The words are a fixed lexicon of about 400 common English words (nouns and verbs in
both numbers, adjectives, prepositions, determiners), all single MiniLM WordPiece tokens but a
few. The grammar's seed draws every rule's probabilities: each left-hand side's rule
probabilities come from a Dirichlet around the base weights below (concentration
`RULE_CONCENTRATION`), each word class's word probabilities from a flat Dirichlet
(`WORD_CONCENTRATION`, Zipf-like skew), so two seeds are two languages over the same words.

The data distribution is the grammar's distribution conditioned on a length range
(`min_words`..`max_words`, by rejection); `Grammar.length_logprob` is the log-probability of that
range (the inside algorithm over a row of wildcard words), so `sentence_logprob(...) -
length_logprob(...)` is a sentence's exact log-probability under the data distribution.

Everything is plain Python and numpy, stored as JSON beside the prepared splits (`grammar.json`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from methodlib.errors import RunError

START = "S"
RULE_CONCENTRATION = 20.0
WORD_CONCENTRATION = 1.0
MAX_DEPTH = 40  # a derivation deeper than this is redrawn (the grammar is subcritical anyway)

NOUNS = """dog dogs cat cats bird birds girl girls boy boys farmer farmers teacher teachers
king kings queen queens doctor doctors student students horse horses friend friends child
children man men woman women writer writers player players singer singers driver drivers
worker workers soldier soldiers artist artists baker bakers lawyer lawyers captain captains
officer officers neighbor neighbors animal animals robot robots wolf wolves mouse mice fox
foxes pilot pilots nurse nurses judge judges chef chefs poet poets monkey monkeys tiger tigers
lion lions rabbit rabbits duck ducks frog frogs bear bears snake snakes book books car cars
house houses tree trees river rivers letter letters song songs box boxes table tables door
doors garden gardens city cities road roads ship ships apple apples cake cakes picture
pictures window windows bridge bridges stone stones flower flowers hat hats key keys map maps
ball balls chair chairs lamp lamps coin coins boat boats shoe shoes clock clocks bottle
bottles field fields hill hills island islands market markets school schools village villages
tower towers forest forests"""
TRANSITIVE = """sees see likes like finds find follows follow helps help watches watch knows know
loves love wants want calls call meets meet hears hear pushes push carries carry paints paint
visits visit chases chase remembers remember admires admire builds build reads read writes
write opens open holds hold takes take brings bring buys buy sells sell cleans clean leaves
leave keeps keep draws draw throws throw catches catch fixes fix moves move needs need hates
hate guards guard protects protect"""
INTRANSITIVE = """sleeps sleep runs run laughs laugh sings sing dances dance waits wait smiles
smile cries cry falls fall jumps jump walks walk swims swim works work speaks speak arrives
arrive disappears disappear rests rest plays play shouts shout travels travel"""
ADJECTIVES = """big small old young red green blue happy sad quiet loud tall short strange quick
slow bright dark gentle brave clever lazy busy tired proud kind angry famous rich poor wild
calm warm cold heavy empty ancient little friendly honest"""
PREPOSITIONS = "near behind with under beside above without inside beyond around across among"
DETERMINERS_SG = "the a every this"
DETERMINERS_PL = "the some these many"


def _pairs(words: str) -> tuple[list[str], list[str]]:
    """(singular forms, plural forms) of a list written as `sg pl sg pl ...` (for verbs: the
    third person singular, then the base form)."""
    items = words.split()
    return items[0::2], items[1::2]


def _base_rules() -> dict[str, list[tuple[tuple[str, ...], float]]]:
    """The grammar's rules with their base weights (normalised per left-hand side later)."""
    rules: dict[str, list[tuple[tuple[str, ...], float]]] = {
        START: [(("NP_sg", "VP_sg"), 0.5), (("NP_pl", "VP_pl"), 0.5)],
        "PP": [(("P", "NP_sg"), 0.5), (("P", "NP_pl"), 0.5)],
    }
    for n in ("sg", "pl"):
        rules[f"NP_{n}"] = [
            ((f"Det_{n}", f"N_{n}"), 0.55),
            ((f"Det_{n}", f"AN_{n}"), 0.25),
            ((f"NP_{n}", "PP"), 0.1),
            ((f"NP_{n}", f"RC_{n}"), 0.1),
        ]
        rules[f"AN_{n}"] = [(("Adj", f"N_{n}"), 0.85), (("Adj", f"AN_{n}"), 0.15)]
        rules[f"RC_{n}"] = [(("That", f"VP_{n}"), 1.0)]
        rules[f"VP_{n}"] = [
            ((f"Vi_{n}",), 0.35),
            ((f"Vt_{n}", "NP_sg"), 0.25),
            ((f"Vt_{n}", "NP_pl"), 0.25),
            ((f"VP_{n}", "PP"), 0.15),
        ]
    return rules


def _word_classes() -> dict[str, list[str]]:
    nouns, transitive, intransitive = _pairs(NOUNS), _pairs(TRANSITIVE), _pairs(INTRANSITIVE)
    return {
        "N_sg": nouns[0],
        "N_pl": nouns[1],
        "Vt_sg": transitive[0],
        "Vt_pl": transitive[1],
        "Vi_sg": intransitive[0],
        "Vi_pl": intransitive[1],
        "Adj": ADJECTIVES.split(),
        "P": PREPOSITIONS.split(),
        "Det_sg": DETERMINERS_SG.split(),
        "Det_pl": DETERMINERS_PL.split(),
        "That": ["that"],
    }


@dataclass
class Grammar:
    """A PCFG with rules of one or two nonterminals on the right (`rules`) and word classes
    (`words`: preterminal → word → probability). Unary rules (VP → Vi) must not form cycles."""

    rules: dict[str, list[tuple[tuple[str, ...], float]]]
    words: dict[str, dict[str, float]]
    seed: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    _lengths: dict[tuple[int, int], float] = field(default_factory=dict, repr=False, compare=False)

    # ---- construction and storage

    @classmethod
    def seeded(cls, seed: int) -> Grammar:
        """The grammar of `seed`: base rules and lexicon, probabilities drawn from Dirichlets."""
        rng = np.random.default_rng(seed)
        rules = {}
        for lhs, options in _base_rules().items():
            base = np.array([w for _, w in options]) / sum(w for _, w in options)
            probs = rng.dirichlet(RULE_CONCENTRATION * base) if len(options) > 1 else [1.0]
            rules[lhs] = [(rhs, float(p)) for (rhs, _), p in zip(options, probs, strict=True)]
        words = {}
        for tag, items in _word_classes().items():
            probs = (
                rng.dirichlet(np.full(len(items), WORD_CONCENTRATION)) if len(items) > 1 else [1]
            )
            words[tag] = {w: float(p) for w, p in zip(items, probs, strict=True)}
        return cls(rules, words, seed)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "start": START,
            "rules": {lhs: [[list(rhs), p] for rhs, p in opts] for lhs, opts in self.rules.items()},
            "words": self.words,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Grammar:
        rules = {
            lhs: [(tuple(rhs), float(p)) for rhs, p in opts] for lhs, opts in data["rules"].items()
        }
        return cls(rules, {t: dict(w) for t, w in data["words"].items()}, data.get("seed"))

    @classmethod
    def load(cls, path: str | Path) -> Grammar:
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunError(
                f"{path}: unreadable grammar ({exc}); prepare the dataset again"
            ) from None

    # ---- sampling

    def sample(self, rng: np.random.Generator) -> list[str] | None:
        """One sentence (a list of words) drawn top-down, or None when it grew past MAX_DEPTH."""
        out: list[str] = []
        stack: list[tuple[str, int]] = [(START, 0)]
        while stack:
            symbol, depth = stack.pop()
            if depth > MAX_DEPTH:
                return None
            if symbol in self.words:
                items = self.words[symbol]
                out.append(list(items)[rng.choice(len(items), p=_normalised(items.values()))])
                continue
            options = self.rules[symbol]
            rhs = options[rng.choice(len(options), p=_normalised(p for _, p in options))][0]
            stack.extend((s, depth + 1) for s in reversed(rhs))
        return out

    def sentences(self, n: int, min_words: int, max_words: int, seed: int) -> list[str]:
        """`n` sentences of `min_words`..`max_words` words (rejection sampling), from `seed`."""
        rng = np.random.default_rng(seed)
        texts: list[str] = []
        tries = 0
        while len(texts) < n:
            tries += 1
            if tries > 200 * n + 10_000:
                raise RunError(
                    f"grammar: fewer than {n} sentences of {min_words}-{max_words} words in "
                    f"{tries} draws; widen the length range"
                )
            words = self.sample(rng)
            if words is not None and min_words <= len(words) <= max_words:
                texts.append(" ".join(words))
        return texts

    # ---- the exact judge

    @cached_property
    def _tables(self):
        """Symbol index, index arrays of the binary rules, the unary rules in the order that
        closes chains in one pass, each word's vector of preterminal probabilities, and the
        wildcard word's (every preterminal's total, 1: for the length distribution)."""
        symbols = sorted({*self.rules, *self.words})
        index = {s: i for i, s in enumerate(symbols)}
        binary = [
            (index[lhs], index[rhs[0]], index[rhs[1]], p)
            for lhs, opts in self.rules.items()
            for rhs, p in opts
            if len(rhs) == 2
        ]
        unary = [
            (lhs, rhs[0], p) for lhs, opts in self.rules.items() for rhs, p in opts if len(rhs) == 1
        ]
        lexicon: dict[str, np.ndarray] = {}
        for tag, items in self.words.items():
            for word, p in items.items():
                lexicon.setdefault(word, np.zeros(len(symbols)))[index[tag]] += p
        order = _unary_order(unary)
        unary_idx = [(index[a], index[b], p) for a, b, p in order]
        wildcard = np.zeros(len(symbols))
        for tag, items in self.words.items():
            wildcard[index[tag]] = sum(items.values())
        arrays = tuple(np.array(col) for col in zip(*binary, strict=True))
        return index, arrays, unary_idx, lexicon, wildcard

    def _inside(self, leaves: list[np.ndarray]) -> float:
        """Inside probability of the start symbol over the whole row of leaf vectors (each the
        probability of its word from every preterminal), with per-cell unary closure."""
        index, (a, b, c, p), unary, _, _ = self._tables
        n = len(leaves)
        if n == 0:
            return 0.0
        size = len(index)
        chart = np.zeros((n, n + 1, size))
        for i, leaf in enumerate(leaves):
            chart[i, i + 1] = self._closed(leaf.copy(), unary)
        for width in range(2, n + 1):
            for i in range(0, n - width + 1):
                j = i + width
                left = chart[i, i + 1 : j][:, b]  # (splits, rules)
                right = chart[i + 1 : j, j][:, c]
                cell = np.zeros(size)
                np.add.at(cell, a, p * (left * right).sum(axis=0))
                chart[i, j] = self._closed(cell, unary)
        return float(chart[0, n, index[START]])

    @staticmethod
    def _closed(cell: np.ndarray, unary) -> np.ndarray:
        for lhs, rhs, p in unary:
            cell[lhs] += p * cell[rhs]
        return cell

    def sentence_logprob(self, text: str) -> float:
        """log P(sentence) under the grammar (summed over its derivations); -inf when the
        grammar cannot derive it (an unknown word, a wrong order, disagreement)."""
        _, _, _, lexicon, _ = self._tables
        words = text.split()
        if not words or any(w not in lexicon for w in words):
            return -math.inf
        prob = self._inside([lexicon[w] for w in words])
        return math.log(prob) if prob > 0 else -math.inf

    def length_logprob(self, min_words: int, max_words: int) -> float:
        """log P(min_words ≤ length ≤ max_words) of a sentence drawn from the grammar, computed
        once per range (every sample set of a run is scored against the same one)."""
        key = (min_words, max_words)
        if key not in self._lengths:
            _, _, _, _, wildcard = self._tables
            total = sum(self._inside([wildcard] * n) for n in range(min_words, max_words + 1))
            self._lengths[key] = math.log(total) if total > 0 else -math.inf
        return self._lengths[key]


def _normalised(values) -> np.ndarray:
    v = np.fromiter(values, dtype=float)
    return v / v.sum()


def _unary_order(unary: list[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    """Unary rules ordered so that a rule A → B comes after every rule B → C (closure in one
    pass); a cycle is an error."""
    ordered: list[tuple[str, str, float]] = []
    pending = list(unary)
    while pending:
        ready = [r for r in pending if not any(o[0] == r[1] for o in pending)]
        if not ready:
            raise RunError(f"grammar: cyclic unary rules {pending}")
        ordered.extend(ready)
        pending = [r for r in pending if r not in ready]
    return ordered


@dataclass(frozen=True)
class GrammarScores:
    grammatical: float  # share of texts the grammar derives
    nll: float  # mean over grammatical texts of -log P_data(text) / words (nan: none)


def grammar_scores(grammar: Grammar, texts: list[str], min_words: int, max_words: int):
    """The exact judge of generated texts: their grammatical share, and the mean per-word NLL
    of the grammatical ones under the data distribution (the grammar conditioned on the length
    range; a grammatical text outside the range counts as grammatical but has no data NLL)."""
    log_z = grammar.length_logprob(min_words, max_words)
    grammatical, nlls = 0, []
    for text in texts:
        logp = grammar.sentence_logprob(text)
        if logp == -math.inf:
            continue
        grammatical += 1
        words = len(text.split())
        if min_words <= words <= max_words:
            nlls.append(-(logp - log_z) / words)
    return GrammarScores(
        grammatical / len(texts) if texts else math.nan,
        float(np.mean(nlls)) if nlls else math.nan,
    )
