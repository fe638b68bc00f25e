"""Extractive answers with numbered citations, built from retrieved Q&A pairs.

No text is generated: the answer is a handful of sentences copied verbatim from the best
evidence responses, each followed by a ``[n]`` marker naming the pair it came from. So
every claim in the answer can be traced to a stored response.

A sentence's score mixes three signals, each in [0, 1]::

    score = 0.6 · overlap + 0.3 · evidence + 0.1 · position
    overlap  = |query terms ∩ sentence terms| / |query terms|
    evidence = the evidence score, min-max normalised over the evidence used
    position = 1 / (1 + index of the sentence in its response)

where terms are :func:`~medkb.search.text.keywords` cut to their first five letters, a
crude stem that lets "treated" meet "treatment" and "diagnosed" meet "diagnosis".

The best sentences are picked greedily, skipping near-duplicates (word-set Jaccard
similarity >= 0.8 with a sentence already picked, e.g. the same advice in two sources),
then printed grouped by source in evidence order and, within a source, in their original
order.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from medkb.search.sentences import split_sentences
from medkb.search.text import keywords

#: The answer text when there is no evidence to quote.
NOTHING_FOUND = "No relevant information was found in the knowledge base."

_OVERLAP_WEIGHT = 0.6
_EVIDENCE_WEIGHT = 0.3
_POSITION_WEIGHT = 0.1
_DUPLICATE_JACCARD = 0.8
_PREFIX = 5
#: Sentences with fewer words are headings or fragments; used only when nothing else is.
_MIN_WORDS = 3


@dataclass
class Evidence:
    """A retrieved pair offered as evidence; ``score`` is its retrieval score."""

    id: str
    question: str
    response: str
    score: float
    source: str | None = None
    #: The best dense cosine similarity of the pair to the query; ``None`` when unknown.
    cosine: float | None = None


@dataclass
class Citation:
    """Source ``[number]`` of an answer: the pair and the sentences quoted from it."""

    number: int
    id: str
    source: str | None
    sentences: list[str] = field(default_factory=list)


@dataclass
class Answer:
    """An answer's text, with ``[n]`` markers, and the citations the markers refer to."""

    text: str
    citations: list[Citation]


@dataclass(frozen=True)
class _Quotable:
    item: Evidence
    sentences: list[str]


@dataclass(frozen=True)
class _Candidate:
    rank: int  # of the evidence, 0 = best
    index: int  # of the sentence in the response
    sentence: str
    score: float
    words: frozenset[str]


def compose(
    query: str,
    evidence: Sequence[Evidence],
    *,
    max_sentences: int = 4,
    max_sources: int = 3,
) -> Answer:
    """Answer ``query`` with sentences quoted from the best evidence, with citations.

    Args:
        query: The (normalised) question.
        evidence: Retrieved pairs, in any order; the ``max_sources`` with the highest
            scores that have any text are quoted from (ties keep the given order; a
            repeated id counts once, as its first occurrence).
        max_sentences: Most sentences in the answer, ``>= 1``.
        max_sources: Most pairs quoted, ``>= 1``.

    Returns:
        The answer: each sentence followed by `` [n]``, sentences separated by a space,
        citations numbered 1, 2, ... in order of first use. With no quotable evidence, the
        text is :data:`NOTHING_FOUND` and there are no citations.

    Raises:
        ValueError: If a limit is below 1 or an evidence score is not finite.
    """
    if max_sentences < 1 or max_sources < 1:
        raise ValueError(
            f"max_sentences and max_sources must be >= 1, got {max_sentences} and {max_sources}."
        )
    pool = _top_evidence(evidence, max_sources)
    chosen = _select(_candidates(query, pool), max_sentences)
    if not chosen:
        return Answer(text=NOTHING_FOUND, citations=[])
    return _render(chosen, pool)


def _top_evidence(evidence: Sequence[Evidence], limit: int) -> list[_Quotable]:
    """The ``limit`` best-scored evidence items that have sentences; repeated ids once."""
    unique: dict[str, Evidence] = {}
    for item in evidence:
        if not math.isfinite(item.score):
            raise ValueError(f"Evidence {item.id!r} has score {item.score}; scores must be finite.")
        unique.setdefault(item.id, item)
    ranked = sorted(unique.values(), key=lambda item: -item.score)
    quotable = (_Quotable(item, split_sentences(item.response)) for item in ranked)
    return list(itertools.islice((q for q in quotable if q.sentences), limit))


def _candidates(query: str, pool: Sequence[_Quotable]) -> list[_Candidate]:
    """Every sentence of the pool's responses, scored against the query."""
    query_words = terms(query)
    relevance = _normalised([quotable.item.score for quotable in pool])
    candidates = []
    for rank, quotable in enumerate(pool):
        for index, sentence in enumerate(quotable.sentences):
            overlap = _overlap(query_words, sentence)
            score = (
                _OVERLAP_WEIGHT * overlap
                + _EVIDENCE_WEIGHT * relevance[rank]
                + _POSITION_WEIGHT / (1 + index)
            )
            candidates.append(_Candidate(rank, index, sentence, score, _words(sentence)))
    return candidates


def _normalised(scores: Sequence[float]) -> list[float]:
    """Min-max normalisation; all-equal scores become 1."""
    low, high = min(scores, default=0.0), max(scores, default=0.0)
    return [(s - low) / (high - low) if high > low else 1.0 for s in scores]


def _overlap(query_words: set[str], sentence: str) -> float:
    """The share of the query's keywords that the sentence contains."""
    if not query_words:
        return 0.0
    return len(query_words & terms(sentence)) / len(query_words)


def terms(text: str) -> set[str]:
    """Keywords cut to a five-letter prefix (see the module docstring)."""
    return {word[:_PREFIX] for word in keywords(text, stem=True)}


def _words(sentence: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", sentence.lower()))


def _select(candidates: Sequence[_Candidate], limit: int) -> list[_Candidate]:
    """The best ``limit`` candidates without near-duplicates, in reading order."""
    eligible = [c for c in candidates if _is_statement(c)] or list(candidates)
    chosen: list[_Candidate] = []
    for candidate in sorted(eligible, key=lambda c: (-c.score, c.rank, c.index)):
        if len(chosen) == limit:
            break
        if not any(_near_duplicate(candidate, other) for other in chosen):
            chosen.append(candidate)
    return sorted(chosen, key=lambda c: (c.rank, c.index))


def _is_statement(candidate: _Candidate) -> bool:
    """A full sentence rather than a heading, fragment or question."""
    words = len(re.findall(r"\w+", candidate.sentence))
    return words >= _MIN_WORDS and not candidate.sentence.endswith("?")


def _near_duplicate(a: _Candidate, b: _Candidate) -> bool:
    union = a.words | b.words
    if not union:
        return a.sentence == b.sentence
    return len(a.words & b.words) / len(union) >= _DUPLICATE_JACCARD


def _render(chosen: Sequence[_Candidate], pool: Sequence[_Quotable]) -> Answer:
    """Number the sources in order of first use and write the marked-up text."""
    citations: dict[int, Citation] = {}
    parts = []
    for candidate in chosen:
        item = pool[candidate.rank].item
        citation = citations.setdefault(
            candidate.rank, Citation(len(citations) + 1, item.id, item.source)
        )
        citation.sentences.append(candidate.sentence)
        parts.append(f"{candidate.sentence} [{citation.number}]")
    return Answer(text=" ".join(parts), citations=list(citations.values()))
