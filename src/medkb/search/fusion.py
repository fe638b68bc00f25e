"""Fuse several ranked result lists into one: rank-based (RRF) or score-based (convex).

Both functions take *named rankings* — e.g. ``"dense:question"``, ``"dense:combined"``,
``"keyword"`` — each a sequence of ``(id, score)`` pairs, best first, and optional
per-ranking weights. A ranking whose weight is ``0`` is ignored; a name missing from
``weights`` gets weight ``1``; weights naming no ranking are ignored (a configured
ranking may be absent for one query). If an id occurs twice in one ranking, only its
first (best) occurrence counts.

**Weighted reciprocal rank fusion** (:func:`fuse`; Cormack, Clarke & Büttcher, 2009)::

    score(d) = Σ_r  w_r / (k + rank_r(d))        rank_r(d) = 1, 2, … (position in r)

over the rankings ``r`` that contain ``d``. It uses positions only, so it needs no score
calibration across rankings; ``k`` (60 by default) damps the head of each list.

**Convex combination of normalised scores** (:func:`fuse_scores`)::

    score(d) = Σ_r  (w_r / W) · norm_r(d)        W = Σ_r w_r

where ``norm_r`` is min-max (``(s - min) / (max - min)``, in ``[0, 1]``) or z-score
(``(s - mean) / std``, population std) over ranking ``r``. A document missing from a
ranking takes that ranking's lowest normalised value (``0`` for min-max). It uses the
score gaps, which RRF throws away, but depends on each ranking's score distribution.

Sums are exactly rounded (``math.fsum``), so a tie is a tie whatever the order of the
rankings. Ties in both are broken by the best (smallest) rank the document reached in any
contributing ranking, then by id, so the output order is fully deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

Ranking = Sequence[tuple[str, float]]
NormMethod = Literal["minmax", "zscore"]
FusionMethod = Literal["rrf", "minmax", "zscore"]
#: The accepted values of ``method`` in :func:`combine`.
FUSION_METHODS: tuple[FusionMethod, ...] = ("rrf", "minmax", "zscore")

#: The RRF constant of Cormack et al.; larger values flatten the head of each ranking.
DEFAULT_K = 60


def fuse(
    rankings: Mapping[str, Ranking],
    *,
    weights: Mapping[str, float] | None = None,
    k: int = DEFAULT_K,
) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion of named rankings.

    Args:
        rankings: Ranking name → ``(id, score)`` pairs, best first. Only the order is used.
        weights: Ranking name → non-negative weight; missing names weigh 1.
        k: RRF constant, ``>= 0``.

    Returns:
        ``(id, fused score)`` pairs, best first; ties by best single rank, then id.

    Raises:
        ValueError: If ``k`` or a weight is negative or not finite.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}; the usual value is {DEFAULT_K}.")
    terms: dict[str, list[float]] = {}
    best_rank: dict[str, int] = {}
    for name, ranks in _weighted_ranks(rankings, weights):
        weight = _weight(weights, name)
        for doc_id, rank in ranks.items():
            terms.setdefault(doc_id, []).append(weight / (k + rank))
            best_rank[doc_id] = min(best_rank.get(doc_id, rank), rank)
    return _ordered(_sums(terms), best_rank)


def combine(
    rankings: Mapping[str, Ranking],
    *,
    method: FusionMethod,
    weights: Mapping[str, float] | None = None,
    k: int = DEFAULT_K,
) -> list[tuple[str, float]]:
    """Fuse named rankings with the chosen method: :func:`fuse` or :func:`fuse_scores`.

    Args:
        rankings: Ranking name → ``(id, score)`` pairs, best first.
        method: ``"rrf"`` (weighted reciprocal rank fusion, constant ``k``) or
            ``"minmax"`` / ``"zscore"`` (convex combination of normalised scores).
        weights: Ranking name → non-negative weight; missing names weigh 1.
        k: RRF constant; ignored by the score-based methods.

    Returns:
        ``(id, fused score)`` pairs, best first.

    Raises:
        ValueError: If the method is unknown, or a weight, ``k`` or a score is invalid.
    """
    if method == "rrf":
        return fuse(rankings, weights=weights, k=k)
    if method in ("minmax", "zscore"):
        return fuse_scores(rankings, weights=weights, method=method)
    raise ValueError(f"Unknown fusion method {method!r}; use one of {', '.join(FUSION_METHODS)}.")


def fuse_scores(
    rankings: Mapping[str, Ranking],
    *,
    weights: Mapping[str, float] | None = None,
    method: NormMethod = "minmax",
) -> list[tuple[str, float]]:
    """Convex combination of per-ranking normalised scores.

    Args:
        rankings: Ranking name → ``(id, score)`` pairs, best first. Scores must be finite.
        weights: Ranking name → non-negative weight; missing names weigh 1. Weights are
            divided by their sum, so only their ratios matter.
        method: ``"minmax"`` or ``"zscore"`` (see :func:`normalise_scores`).

    Returns:
        ``(id, fused score)`` pairs, best first; ties by best single rank, then id.

    Raises:
        ValueError: If a weight is negative or not finite, or a score is not finite.
    """
    used = [name for name, _ in _weighted_ranks(rankings, weights)]
    total = math.fsum(_weight(weights, name) for name in used)
    normalised = {name: normalise_scores(rankings[name], method=method) for name in used}
    every_id = {doc_id for norm in normalised.values() for doc_id in norm}
    terms: dict[str, list[float]] = {doc_id: [] for doc_id in every_id}
    for name in used:
        share, norm = _weight(weights, name) / total, normalised[name]
        floor = min(norm.values(), default=0.0)
        for doc_id in every_id:
            terms[doc_id].append(share * norm.get(doc_id, floor))
    return _ordered(_sums(terms), _best_ranks(rankings[name] for name in used))


def normalise_scores(ranking: Ranking, *, method: NormMethod = "minmax") -> dict[str, float]:
    """Normalise one ranking's scores (first occurrence of an id wins).

    ``"minmax"`` maps to ``(s - min) / (max - min)`` in ``[0, 1]``; when all scores are
    equal every document gets ``1``. ``"zscore"`` maps to ``(s - mean) / std`` with the
    population standard deviation; when it is ``0`` every document gets ``0``.

    Args:
        ranking: ``(id, score)`` pairs.
        method: ``"minmax"`` or ``"zscore"``.

    Returns:
        Id → normalised score.

    Raises:
        ValueError: If a score is not finite or the method is unknown.
    """
    scores = _first_scores(ranking)
    values = list(scores.values())
    if not values:
        return {}
    if method == "minmax":
        low, high = min(values), max(values)
        span = high - low
        return {d: (s - low) / span if span > 0 else 1.0 for d, s in scores.items()}
    if method == "zscore":
        mean = math.fsum(values) / len(values)
        std = math.sqrt(math.fsum((s - mean) ** 2 for s in values) / len(values))
        return {d: (s - mean) / std if std > 0 else 0.0 for d, s in scores.items()}
    raise ValueError(f"Unknown normalisation {method!r}; use 'minmax' or 'zscore'.")


def _weight(weights: Mapping[str, float] | None, name: str) -> float:
    """The weight of ranking ``name``, validated."""
    weight = 1.0 if weights is None else float(weights.get(name, 1.0))
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f"Weight of ranking {name!r} must be finite and >= 0, got {weight}.")
    return weight


def _weighted_ranks(
    rankings: Mapping[str, Ranking], weights: Mapping[str, float] | None
) -> list[tuple[str, dict[str, int]]]:
    """``(name, id → rank from 1)`` for every ranking with a positive weight."""
    return [
        (name, _ranks(ranking)) for name, ranking in rankings.items() if _weight(weights, name) > 0
    ]


def _ranks(ranking: Ranking) -> dict[str, int]:
    """Id → 1-based position of its first occurrence."""
    ranks: dict[str, int] = {}
    for position, (doc_id, _score) in enumerate(ranking, start=1):
        ranks.setdefault(doc_id, position)
    return ranks


def _first_scores(ranking: Ranking) -> dict[str, float]:
    """Id → score of its first occurrence; rejects NaN and infinities."""
    scores: dict[str, float] = {}
    for doc_id, score in ranking:
        if not math.isfinite(score):
            raise ValueError(f"Score of {doc_id!r} is {score}; scores must be finite.")
        scores.setdefault(doc_id, float(score))
    return scores


def _best_ranks(rankings: Iterable[Ranking]) -> dict[str, int]:
    """Id → smallest rank over ``rankings``."""
    best: dict[str, int] = {}
    for ranking in rankings:
        for doc_id, rank in _ranks(ranking).items():
            best[doc_id] = min(best.get(doc_id, rank), rank)
    return best


def _sums(terms: Mapping[str, list[float]]) -> dict[str, float]:
    """Exactly rounded sums, so equal sets of terms give equal scores in any order."""
    return {doc_id: math.fsum(values) for doc_id, values in terms.items()}


def _ordered(scores: Mapping[str, float], best_rank: Mapping[str, int]) -> list[tuple[str, float]]:
    """Sort by score (desc), then best single rank, then id."""
    order = sorted(scores, key=lambda doc_id: (-scores[doc_id], best_rank[doc_id], doc_id))
    return [(doc_id, scores[doc_id]) for doc_id in order]
