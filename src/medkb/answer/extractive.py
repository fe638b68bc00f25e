"""Extractive answers with numbered citations, built from retrieved Q&A pairs.

No text is generated: the answer is a handful of sentences copied verbatim from the best
evidence responses, each followed by a ``[n]`` marker naming the pair it came from. So
every claim in the answer can be traced to a stored response.

**Which pairs.** The best-scored pair is always quoted from. Another pair is quoted only
when it answers the same question, measured by its question's terms: it must contain at
least :data:`SAME_QUESTION` of the *anchor*, the query terms the best pair's question also
has (all query terms when it has none). "What are the warning signs of a heart attack?"
shares "warning signs" but not "stroke" with a stroke query, so it is left out; "What
should I do if my blood sugar is low?" answers "... too low?" and is kept. The threshold
was tuned on the MEDIQA dev queries' judged pairs (``bench/answer_topicality.py``,
docs/safety.md "Topicality").

**Which sentences.** A sentence's score mixes three signals, each in [0, 1]::

    score = 0.6 · overlap + 0.3 · evidence + 0.1 · position
    overlap  = |query terms ∩ sentence terms| / |query terms|
    evidence = the evidence score, min-max normalised over the evidence used
    position = 1 / (1 + index of the sentence in its response)

where terms are :func:`~medkb.search.text.keywords` cut to their first five letters, a
crude stem that lets "treated" meet "treatment" and "diagnosed" meet "diagnosis".

A list is quoted whole or not at all, with the sentence that leads into it: such a block
is one candidate (scored on all its words) and counts as one point of ``max_sentences``.
The best points are picked greedily, skipping any that repeats what is already picked
(word Jaccard >= 0.8 with a picked point, or >= 60 % of its terms already in the
answer: the same advice worded twice by two sources), then printed grouped by source in
evidence order and, within a source, in their original order.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from medkb.search.sentences import split_list_items
from medkb.search.text import keywords

#: The answer text when there is no evidence to quote.
NOTHING_FOUND = "No relevant information was found in the knowledge base."

_OVERLAP_WEIGHT = 0.6
_EVIDENCE_WEIGHT = 0.3
_POSITION_WEIGHT = 0.1
_DUPLICATE_JACCARD = 0.8
#: A point whose terms the answer already has this share of repeats it.
_REPEATED_TERMS = 0.6
#: Share of the anchor terms another pair's question must contain to be quoted (see above).
SAME_QUESTION = 1.0
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
    #: The response cut into points: single sentences, or a list with its lead-in.
    points: list[tuple[str, ...]]


@dataclass(frozen=True)
class _Candidate:
    rank: int  # of the evidence, 0 = best
    index: int  # of the point in the response
    sentences: tuple[str, ...]
    score: float
    words: frozenset[str]
    terms: frozenset[str]

    @property
    def sentence(self) -> str:
        return " ".join(self.sentences)


def compose(
    query: str,
    evidence: Sequence[Evidence],
    *,
    max_sentences: int = 4,
    max_sources: int = 3,
    same_question: float = SAME_QUESTION,
) -> Answer:
    """Answer ``query`` with sentences quoted from the best evidence, with citations.

    Args:
        query: The (normalised) question.
        evidence: Retrieved pairs, in any order; of the ``max_sources`` with the highest
            scores that have any text (ties keep the given order; a repeated id counts
            once, as its first occurrence), the best and those answering the same question
            are quoted from.
        max_sentences: Most points in the answer (a sentence, or a list with its
            lead-in), ``>= 1``.
        max_sources: Most pairs quoted, ``>= 1``.
        same_question: Share of the anchor terms another pair's question must contain to
            be quoted (module docstring); 0 quotes any of the best pairs.

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
    best = _top_evidence(evidence, max_sources)
    # Scores are normalised over the best pairs before the off-topic ones are dropped, so
    # a kept pair's weight does not depend on which others were left out.
    normalised = _normalised([quotable.item.score for quotable in best])
    relevance = {quotable.item.id: n for quotable, n in zip(best, normalised, strict=True)}
    pool = on_topic(query, best, same_question)
    chosen = _select(_candidates(query, pool, relevance), max_sentences, terms(query))
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
    quotable = (_Quotable(item, points(item.response)) for item in ranked)
    return list(itertools.islice((q for q in quotable if q.points), limit))


def points(response: str) -> list[tuple[str, ...]]:
    """``response`` cut into the points an answer quotes whole: single sentences, and
    each list (consecutive list-item sentences) together with the sentence before it."""
    found: list[tuple[str, ...]] = []
    for sentence, item in split_list_items(response):
        if item and found:  # the list goes on, or starts right after its lead-in
            found[-1] = (*found[-1], sentence)
        else:
            found.append((sentence,))
    return found


def on_topic(query: str, pool: list[_Quotable], threshold: float) -> list[_Quotable]:
    """The best pair, and the others whose question answers the same question."""
    if not pool:
        return pool
    query_terms = terms(query)
    anchor = (query_terms & terms(pool[0].item.question)) or query_terms
    if not anchor or threshold <= 0:
        return pool
    return [pool[0]] + [
        quotable
        for quotable in pool[1:]
        if len(anchor & terms(quotable.item.question)) / len(anchor) >= threshold
    ]


def _candidates(
    query: str, pool: Sequence[_Quotable], relevance: dict[str, float]
) -> list[_Candidate]:
    """Every point of the pool's responses, scored against the query."""
    query_words = terms(query)
    candidates = []
    for rank, quotable in enumerate(pool):
        for index, point in enumerate(quotable.points):
            text = " ".join(point)
            point_terms = frozenset(terms(text))
            overlap = len(query_words & point_terms) / len(query_words) if query_words else 0.0
            score = (
                _OVERLAP_WEIGHT * overlap
                + _EVIDENCE_WEIGHT * relevance[quotable.item.id]
                + _POSITION_WEIGHT / (1 + index)
            )
            candidates.append(_Candidate(rank, index, point, score, _words(text), point_terms))
    return candidates


def _normalised(scores: Sequence[float]) -> list[float]:
    """Min-max normalisation; all-equal scores become 1."""
    low, high = min(scores, default=0.0), max(scores, default=0.0)
    return [(s - low) / (high - low) if high > low else 1.0 for s in scores]


def terms(text: str) -> set[str]:
    """Keywords cut to a five-letter prefix (see the module docstring)."""
    return {word[:_PREFIX] for word in keywords(text, stem=True)}


def _words(sentence: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", sentence.lower()))


def _select(
    candidates: Sequence[_Candidate], limit: int, query_terms: set[str]
) -> list[_Candidate]:
    """The best ``limit`` candidates without repeats, in reading order."""
    eligible = [c for c in candidates if _is_statement(c)] or list(candidates)
    chosen: list[_Candidate] = []
    said: set[str] = set()
    for candidate in sorted(eligible, key=lambda c: (-c.score, c.rank, c.index)):
        if len(chosen) == limit:
            break
        if not _repeats(candidate, chosen, said, query_terms):
            chosen.append(candidate)
            said |= candidate.terms - query_terms
    return sorted(chosen, key=lambda c: (c.rank, c.index))


def _repeats(
    candidate: _Candidate, chosen: Sequence[_Candidate], said: set[str], query_terms: set[str]
) -> bool:
    """Whether ``candidate`` makes a point the answer already makes: nearly the same words
    as a chosen point, or most of its terms already said (the same advice worded twice).
    The query's own terms do not count: every on-topic sentence repeats them."""
    if any(_near_duplicate(candidate, other) for other in chosen):
        return True
    new = candidate.terms - query_terms
    return bool(new) and len(new & said) / len(new) >= _REPEATED_TERMS


def _is_statement(candidate: _Candidate) -> bool:
    """A full sentence (or list) rather than a heading, fragment or question."""
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
        for sentence in candidate.sentences:
            citation.sentences.append(sentence)
            parts.append(f"{sentence} [{citation.number}]")
    return Answer(text=" ".join(parts), citations=list(citations.values()))
