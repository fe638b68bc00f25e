"""Abstention: say "not found" instead of quoting unrelated text when evidence is weak.

Fused retrieval scores (reciprocal ranks) say how hits compare with each other, not whether
any of them answers the question: the best of a hundred unrelated pairs still ranks first.
So the decision uses two absolute signals:

- ``cosine``: the best dense cosine similarity between the query and one of the best
  :data:`COSINE_TOP_N` evidence items (their question or question + answer vector, as the
  vector store returned it; 0 for an item dense search did not return); ``None`` in
  keyword mode.
- ``overlap``: the best share of the query's content words (keywords cut to five letters,
  as in :mod:`medkb.answer.extractive`) found in the question + answer of one of the best
  :data:`TOP_N` items.

A query is answered when ``cosine >= min_cosine`` (skipped when there is no cosine) and
``overlap >= min_overlap``. The thresholds are per embedder (cosines of different models
are not comparable) and calibrated by ``bench/safety.py`` (``docs/safety.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from medkb.answer.extractive import Evidence, terms

#: The not-found sentence, followed by the nearest topics when there are any.
NOT_FOUND = "I could not find this in the knowledge base."
#: How many of the best evidence items the overlap looks at.
TOP_N = 3
#: How many of the best evidence items the cosine looks at.
COSINE_TOP_N = 10


@dataclass(frozen=True)
class Signals:
    """How well the best evidence matches the query, on absolute scales."""

    cosine: float | None
    overlap: float

    def to_dict(self) -> dict[str, float | None]:
        cosine = None if self.cosine is None else round(self.cosine, 4)
        return {"cosine": cosine, "overlap": round(self.overlap, 4)}


def signals(query: str, evidence: Sequence[Evidence]) -> Signals:
    """Measure the best evidence items (by score) against ``query``.

    Args:
        query: The normalised query.
        evidence: Retrieved pairs; ``cosine`` is their best dense similarity, if any.

    Returns:
        The best cosine (``None`` when no item has one) and the best keyword overlap
        (0 when the query has no content words or there is no evidence).
    """
    ranked = sorted(evidence, key=lambda item: -item.score)
    cosines = [item.cosine for item in ranked[:COSINE_TOP_N] if item.cosine is not None]
    top = ranked[:TOP_N]
    words = terms(query)
    shared = (len(words & terms(f"{item.question}\n{item.response}")) for item in top)
    overlap = max(shared, default=0) / len(words) if words else 0.0
    return Signals(cosine=max(cosines) if cosines else None, overlap=overlap)


def weak(found: Signals, *, min_cosine: float, min_overlap: float) -> bool:
    """Whether the evidence is too weak to answer from."""
    if found.cosine is not None and found.cosine < min_cosine:
        return True
    return found.overlap < min_overlap


def nearest_topics(evidence: Sequence[Evidence], limit: int) -> list[dict[str, str]]:
    """The questions of the best ``limit`` evidence items, each once, best first."""
    seen: dict[str, dict[str, str]] = {}
    for item in sorted(evidence, key=lambda item: -item.score):
        if len(seen) == limit:
            break
        seen.setdefault(item.id, {"id": item.id, "question": item.question})
    return list(seen.values())


def not_found_text(topics: Sequence[dict[str, str]]) -> str:
    """The abstention answer: :data:`NOT_FOUND` and the nearest topics, if any."""
    if not topics:
        return NOT_FOUND
    listed = "; ".join(topic["question"].strip() for topic in topics)
    return f"{NOT_FOUND} The nearest topics it has are: {listed}"
