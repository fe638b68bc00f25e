"""Exact k-nearest-neighbour search over chunks of a corpus, one matrix product per chunk.

Pure numpy: the caller streams the corpus (``(ids, matrix)`` chunks of unit vectors) from
wherever it lives, so memory stays at one chunk plus ``k`` scores per query, whatever the
corpus size. Used for ``similar_to`` links (``graph.linking``) and their check
(``sync.graph``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

#: Query id → its neighbours ``(id, cosine)``, best first (ties by id).
Neighbours = dict[str, list[tuple[str, float]]]
#: A slice of the corpus: its ids and their vectors, one row each.
Chunk = tuple[Sequence[str], np.ndarray]


@dataclass
class KnnResult:
    """What :func:`knn` found.

    Attributes:
        forward: Each query's ``k`` best corpus rows (never itself) scoring at least the
            threshold.
        reverse_ids: Corpus ids that are not queries and score at least the threshold
            against one of the first ``reverse_rows`` queries.
        reverse_scores: One row per ``reverse_ids`` entry: its score against each of
            those queries, ``-inf`` below the threshold.
    """

    forward: Neighbours
    reverse_ids: list[str] = field(default_factory=list)
    reverse_scores: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))


def knn(
    query_ids: Sequence[str],
    queries: np.ndarray,
    chunks: Iterable[Chunk],
    *,
    k: int,
    threshold: float,
    reverse_rows: int = 0,
) -> KnnResult:
    """Each query's ``k`` nearest corpus rows by dot product, scanning ``chunks`` once.

    Args:
        query_ids: One id per row of ``queries``; a corpus row with the same id is the
            query itself and never its neighbour.
        queries: The query vectors, ``(len(query_ids), d)``.
        chunks: The corpus, chunk by chunk; rows whose dimension differs are skipped.
        k: Neighbours kept per query.
        threshold: Minimum score of a neighbour.
        reverse_rows: Also collect, for every other corpus id, its best among the first
            ``reverse_rows`` queries (what a write of those queries adds to its neighbours).
    """
    scan = _Scan(query_ids, np.asarray(queries, dtype=np.float32), k, threshold, reverse_rows)
    for ids, matrix in chunks:
        if len(ids) and matrix.shape[1] == scan.queries.shape[1]:
            scan.add(list(ids), np.asarray(matrix, dtype=np.float32))
    reverse = (
        np.concatenate(scan.reverse, axis=0)
        if scan.reverse
        else np.zeros((0, reverse_rows), dtype=np.float32)
    )
    return KnnResult(forward=scan.forward(), reverse_ids=scan.reverse_ids, reverse_scores=reverse)


class _Scan:
    """The running state of one :func:`knn` call."""

    def __init__(
        self, query_ids: Sequence[str], queries: np.ndarray, k: int, threshold: float, rows: int
    ) -> None:
        self.query_ids, self.queries, self.k, self.threshold = (
            list(query_ids),
            queries,
            k,
            threshold,
        )
        self.rows = rows
        self.position = {qa_id: row for row, qa_id in enumerate(self.query_ids)}
        self.names: list[str] = []
        self.best = np.full((len(self.query_ids), k), -np.inf, dtype=np.float32)
        self.best_at = np.full((len(self.query_ids), k), -1, dtype=np.int64)
        self.reverse_ids: list[str] = []
        self.reverse: list[np.ndarray] = []

    def add(self, ids: list[str], matrix: np.ndarray) -> None:
        scores = self.queries @ matrix.T
        own = [(self.position[i], j) for j, i in enumerate(ids) if i in self.position]
        for row, col in own:
            scores[row, col] = -np.inf
        scores[scores < self.threshold] = -np.inf
        base = len(self.names)
        self.names.extend(ids)
        if self.k:
            self._keep_best(scores, base)
        if self.rows:
            self._collect_reverse(scores[: self.rows], ids)

    def _keep_best(self, scores: np.ndarray, base: int) -> None:
        at = np.broadcast_to(np.arange(base, base + scores.shape[1]), scores.shape)
        merged = np.concatenate([self.best, scores], axis=1)
        merged_at = np.concatenate([self.best_at, at], axis=1)
        top = np.argpartition(-merged, self.k - 1, axis=1)[:, : self.k]
        self.best = np.take_along_axis(merged, top, axis=1)
        self.best_at = np.take_along_axis(merged_at, top, axis=1)

    def _collect_reverse(self, scores: np.ndarray, ids: list[str]) -> None:
        hit = np.isfinite(scores).any(axis=0)
        cols = [col for col in np.nonzero(hit)[0] if ids[col] not in self.position]
        if cols:
            self.reverse_ids.extend(ids[col] for col in cols)
            self.reverse.append(scores[:, cols].T.copy())

    def forward(self) -> Neighbours:
        found: Neighbours = {}
        for row, qa_id in enumerate(self.query_ids):
            hits = [
                (self.names[at], float(score))
                for score, at in zip(self.best[row], self.best_at[row], strict=True)
                if score > -np.inf
            ]
            found[qa_id] = sorted(hits, key=lambda hit: (-hit[1], hit[0]))
        return found
