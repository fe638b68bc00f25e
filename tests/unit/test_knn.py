"""Chunked exact k-NN equals brute force, whatever the chunking."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from medkb.graph.knn import knn


def unit_rows(seed: int, n: int, d: int = 8) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def brute(ids: list[str], matrix: np.ndarray, queries: list[int], k: int, floor: float) -> dict:
    scores = matrix[queries] @ matrix.T
    found = {}
    for row, q in enumerate(queries):
        hits = [(ids[j], float(scores[row, j])) for j in range(len(ids)) if j != q]
        hits = [h for h in hits if h[1] >= floor]
        found[ids[q]] = sorted(hits, key=lambda h: (-h[1], h[0]))[:k]
    return found


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 60),
    k=st.integers(1, 6),
    chunk=st.integers(1, 25),
    floor=st.sampled_from([-1.0, 0.0, 0.3]),
)
def test_chunked_knn_equals_brute_force(
    seed: int, n: int, k: int, chunk: int, floor: float
) -> None:
    matrix = unit_rows(seed, n)
    ids = [f"p{i:03d}" for i in range(n)]
    queries = list(range(0, n, 3))
    chunks = [(ids[i : i + chunk], matrix[i : i + chunk]) for i in range(0, n, chunk)]
    found = knn([ids[q] for q in queries], matrix[queries], chunks, k=k, threshold=floor)
    expected = brute(ids, matrix, queries, k, floor)
    for qa_id, hits in found.forward.items():
        assert [h[0] for h in hits] == [h[0] for h in expected[qa_id]]
        assert np.allclose([h[1] for h in hits], [h[1] for h in expected[qa_id]], atol=1e-6)


@given(seed=st.integers(0, 10_000), n=st.integers(2, 40), k=st.integers(1, 4))
def test_reverse_lists_the_best_queries_of_every_other_row(seed: int, n: int, k: int) -> None:
    matrix = unit_rows(seed, n)
    ids = [f"p{i:03d}" for i in range(n)]
    queries = [0, 1] if n > 2 else [0]
    found = knn(
        [ids[q] for q in queries],
        matrix[queries],
        [(ids, matrix)],
        k=k,
        threshold=0.0,
        reverse_rows=len(queries),
    )
    reverse = dict(zip(found.reverse_ids, found.reverse_scores, strict=True))
    for j in range(len(queries), n):
        scores = matrix[queries] @ matrix[j]
        if (scores >= 0.0).any():
            got = reverse[ids[j]]
            assert np.allclose(np.where(scores >= 0.0, scores, -np.inf), got, atol=1e-6)
        else:
            assert ids[j] not in reverse
    assert not set(reverse) & {ids[q] for q in queries}


def test_rows_of_another_dimension_are_skipped() -> None:
    matrix = unit_rows(1, 4)
    found = knn(
        ["a"],
        matrix[:1],
        [(["x"], unit_rows(2, 1, d=16)), (["b", "c"], matrix[1:3])],
        k=5,
        threshold=-1.0,
    )
    assert {h[0] for h in found.forward["a"]} == {"b", "c"}
