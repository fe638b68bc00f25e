"""Ranking metrics (medkb.evaluation.metrics): worked examples and invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medkb.evaluation.metrics import (
    mean_scores,
    ndcg_at,
    percentile,
    recall_at,
    reciprocal_rank,
    relevant,
)

DOCS = st.sampled_from([f"d{i}" for i in range(12)])
GRADES = st.dictionaries(DOCS, st.integers(0, 3), min_size=1, max_size=8)
RANKING = st.lists(DOCS, max_size=15)


def test_recall_and_mrr_worked_example() -> None:
    ranked = ["a", "x", "b", "y"]
    assert recall_at(ranked, {"a", "b", "c"}, 1) == pytest.approx(1 / 3)
    assert recall_at(ranked, {"a", "b", "c"}, 3) == pytest.approx(2 / 3)
    assert reciprocal_rank(ranked, {"b"}, 10) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, {"b"}, 2) == 0.0
    assert recall_at(ranked, set(), 10) == 0.0


def test_ndcg_uses_linear_graded_gains_and_all_judged_documents() -> None:
    grades = {"a": 3, "b": 1, "c": 2, "z": 0}
    ranked = ["b", "a", "x"]
    dcg = 1 / math.log2(2) + 3 / math.log2(3)
    ideal = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(ranked, grades, 10) == pytest.approx(dcg / ideal)
    assert ndcg_at(["a", "c", "b"], grades, 10) == pytest.approx(1.0)
    assert ndcg_at(["a"], {"a": 0}, 10) == 0.0


def test_a_repeated_id_earns_nothing_twice() -> None:
    assert ndcg_at(["a", "a"], {"a": 1, "b": 1}, 10) < 1.0
    assert recall_at(["a", "a"], {"a", "b"}, 2) == 0.5
    assert recall_at(["a", "a", "b"], {"a", "b"}, 2) == 1.0  # repeats are dropped first


def test_means_skip_queries_without_relevant_documents() -> None:
    qrels = {"q1": {"a": 2, "b": 1}, "q2": {"c": 1}, "q3": {"d": 0}}
    run = {"q1": ["b", "a"], "q2": ["x"], "q3": ["d"]}
    scores, n = mean_scores(run, qrels, ks=[1, 10], k=10)
    assert n == 2
    assert scores["recall@1"] == pytest.approx((0.5 + 0) / 2)
    assert scores["mrr@10"] == pytest.approx((1 + 0) / 2)
    strict, n_strict = mean_scores(run, qrels, ks=[1], k=10, min_relevance=2)
    assert n_strict == 1 and strict["mrr@10"] == pytest.approx(0.5)
    assert mean_scores({}, {}, ks=[1], k=10) == (
        {"recall@1": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0},
        0,
    )


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([1.0], 95) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([10.0, 0.0, 5.0], 100) == 10.0
    with pytest.raises(ValueError):
        percentile([], 50)


@given(GRADES)
def test_perfect_ranking_scores_one(grades: dict[str, int]) -> None:
    perfect = sorted(grades, key=lambda doc: -grades[doc])
    wanted = relevant(grades)
    if not wanted:
        return
    assert ndcg_at(perfect, grades, len(perfect)) == pytest.approx(1.0)
    assert recall_at(perfect, wanted, len(perfect)) == 1.0
    assert reciprocal_rank(perfect, wanted, 10) == 1.0


@given(RANKING, GRADES, st.integers(1, 20))
def test_metrics_lie_in_unit_interval(ranked: list[str], grades: dict[str, int], k: int) -> None:
    wanted = relevant(grades)
    for value in (
        recall_at(ranked, wanted, k),
        reciprocal_rank(ranked, wanted, k),
        ndcg_at(ranked, grades, k),
    ):
        assert 0.0 <= value <= 1.0 + 1e-12


@given(RANKING, GRADES, st.integers(1, 15), st.integers(0, 10))
def test_recall_is_monotone_in_k(
    ranked: list[str], grades: dict[str, int], k: int, more: int
) -> None:
    wanted = relevant(grades)
    assert recall_at(ranked, wanted, k) <= recall_at(ranked, wanted, k + more)


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_lies_between_min_and_max(values: list[float], q: float) -> None:
    assert min(values) <= percentile(values, q) <= max(values)
