"""Ranking metrics over one query's ranked ids and its judged documents, and their means.

Conventions (those of BEIR / ``pytrec_eval``, so numbers compare with published baselines):

- A qrel grade is an int; a document is *relevant* when its grade is at least
  ``min_relevance`` (1 by default). Recall and MRR use that binary relevance.
- nDCG uses the grades themselves as linear gains (gain = grade, not 2^grade − 1) for every
  judged document with a grade above 0, and the ideal DCG is computed from all of the
  query's judged documents, not only the retrieved ones. On binary qrels it is plain nDCG.
- Means are taken over the queries with at least one relevant document; unjudged
  documents count as non-relevant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

#: query id → corpus id → relevance grade.
Qrels = Mapping[str, Mapping[str, int]]
#: query id → corpus ids, best first.
Run = Mapping[str, Sequence[str]]


def relevant(grades: Mapping[str, int], min_relevance: int = 1) -> set[str]:
    """The ids graded at least ``min_relevance``."""
    return {doc for doc, grade in grades.items() if grade >= min_relevance}


def recall_at(ranked: Sequence[str], relevant_ids: set[str], k: int) -> float:
    """Share of the relevant ids found in the first ``k`` ranked ids (0 when none exist)."""
    if not relevant_ids:
        return 0.0
    return len(relevant_ids.intersection(_unique(ranked)[:k])) / len(relevant_ids)


def reciprocal_rank(ranked: Sequence[str], relevant_ids: set[str], k: int) -> float:
    """1 / rank of the first relevant id within the first ``k``; 0 when there is none."""
    for rank, doc in enumerate(_unique(ranked)[:k], start=1):
        if doc in relevant_ids:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    """Normalised discounted cumulative gain at ``k`` with linear gains (the grades)."""
    ideal = _dcg(sorted((g for g in grades.values() if g > 0), reverse=True)[:k])
    if ideal <= 0:
        return 0.0
    return _dcg([max(grades.get(doc, 0), 0) for doc in _unique(ranked)[:k]]) / ideal


def mean_scores(
    run: Run, qrels: Qrels, *, ks: Sequence[int], k: int, min_relevance: int = 1
) -> tuple[dict[str, float], int]:
    """Mean recall@each of ``ks``, MRR@k and nDCG@k over the judged queries of ``run``.

    Args:
        run: Ranked ids per query id; a judged query missing from it scores 0.
        qrels: Grades per query id.
        ks: Cut-offs for recall.
        k: Cut-off for MRR and nDCG.
        min_relevance: Lowest grade that counts as relevant.

    Returns:
        The metrics by name (``recall@10``, ``mrr@10``, ``ndcg@10``) and the number of
        queries averaged over.
    """
    judged = [q for q, grades in qrels.items() if relevant(grades, min_relevance)]
    names = [f"recall@{cut}" for cut in ks] + [f"mrr@{k}", f"ndcg@{k}"]
    if not judged:
        return dict.fromkeys(names, 0.0), 0
    totals = dict.fromkeys(names, 0.0)
    for query in judged:
        ranked, grades = run.get(query, ()), qrels[query]
        wanted = relevant(grades, min_relevance)
        for cut in ks:
            totals[f"recall@{cut}"] += recall_at(ranked, wanted, cut)
        totals[f"mrr@{k}"] += reciprocal_rank(ranked, wanted, k)
        totals[f"ndcg@{k}"] += ndcg_at(ranked, grades, k)
    return {name: total / len(judged) for name, total in totals.items()}, len(judged)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) with linear interpolation, as ``numpy.percentile``."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0–100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _dcg(gains: Iterable[float]) -> float:
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def _unique(ranked: Sequence[str]) -> list[str]:
    """The ranking with repeats dropped (a repeated id earns nothing twice)."""
    return list(dict.fromkeys(ranked))
