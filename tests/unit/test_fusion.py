"""Score fusion: weighted reciprocal rank fusion and convex combination of scores."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medkb.search.fusion import fuse, fuse_scores, normalise_scores

IDS = st.sampled_from([f"d{i}" for i in range(12)])
SCORES = st.floats(min_value=-10, max_value=10, allow_nan=False)
RANKING = st.lists(st.tuples(IDS, SCORES), max_size=10)
RANKINGS = st.dictionaries(st.sampled_from(["dense:q", "dense:c", "keyword"]), RANKING)
WEIGHT = st.floats(min_value=0, max_value=5, allow_nan=False)


def ids(result: list[tuple[str, float]]) -> list[str]:
    return [doc_id for doc_id, _ in result]


def test_rrf_formula() -> None:
    result = dict(fuse({"a": [("x", 9.0), ("y", 1.0)], "b": [("y", 0.5)]}, k=60))
    assert result["x"] == pytest.approx(1 / 61)
    assert result["y"] == pytest.approx(1 / 62 + 1 / 61)


def test_rrf_uses_positions_not_scores() -> None:
    result = fuse({"a": [("x", 0.1), ("y", 99.0)]})
    assert ids(result) == ["x", "y"]


def test_weights_scale_contributions() -> None:
    result = dict(fuse({"a": [("x", 1.0)], "b": [("y", 1.0)]}, weights={"a": 3.0}, k=0))
    assert result == {"x": pytest.approx(3.0), "y": pytest.approx(1.0)}


def test_zero_weight_ignores_ranking() -> None:
    result = fuse({"a": [("x", 1.0)], "b": [("y", 1.0)]}, weights={"b": 0.0})
    assert ids(result) == ["x"]


def test_unknown_weight_names_are_ignored() -> None:
    assert ids(fuse({"a": [("x", 1.0)]}, weights={"nope": 5.0})) == ["x"]


def test_ties_broken_by_best_rank_then_id() -> None:
    rankings = {"a": [("b", 1.0), ("a", 1.0)], "c": [("a", 1.0), ("b", 1.0)]}
    assert ids(fuse(rankings)) == ["a", "b"]  # same score, same best rank: by id
    rankings = {"a": [("y", 1.0), ("b", 1.0), ("n", 1.0)], "b": [("n", 1.0), ("b", 1.0)]}
    result = fuse(rankings, k=0)
    # y: 1/1; n: 1/3 + 1/1; b: 1/2 + 1/2 = 1 → y and b tie at 1.0; y's best rank is 1, b's 2.
    assert ids(result) == ["n", "y", "b"]


def test_duplicate_id_in_one_ranking_counts_once() -> None:
    result = dict(fuse({"a": [("x", 1.0), ("x", 0.5)]}, k=0))
    assert result == {"x": pytest.approx(1.0)}


def test_empty_inputs() -> None:
    assert fuse({}) == []
    assert fuse({"a": []}) == []
    assert fuse_scores({}) == []


@pytest.mark.parametrize("bad", [-1.0, math.inf, math.nan])
def test_invalid_weight_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="Weight"):
        fuse({"a": [("x", 1.0)]}, weights={"a": bad})
    with pytest.raises(ValueError, match="Weight"):
        fuse_scores({"a": [("x", 1.0)]}, weights={"a": bad})


def test_negative_k_rejected() -> None:
    with pytest.raises(ValueError, match="k must be"):
        fuse({"a": [("x", 1.0)]}, k=-1)


@given(RANKINGS, st.data())
def test_first_everywhere_ranks_first(
    rankings: dict[str, list[tuple[str, float]]], data: st.DataObject
) -> None:
    top = "top"
    rankings = {name: [(top, 1.0), *[p for p in r if p[0] != top]] for name, r in rankings.items()}
    weights = {name: data.draw(WEIGHT) for name in rankings}
    result = fuse(rankings, weights=weights)
    if any(weights[name] > 0 for name in rankings):
        assert result[0][0] == top


@given(RANKINGS, st.sampled_from(["dense:q", "dense:c", "keyword"]), WEIGHT, WEIGHT)
def test_scores_monotone_in_weights(
    rankings: dict[str, list[tuple[str, float]]], name: str, w1: float, w2: float
) -> None:
    low, high = sorted((w1, w2))
    before = dict(fuse(rankings, weights={name: low}))
    after = dict(fuse(rankings, weights={name: high}))
    for doc_id, score in before.items():
        assert after[doc_id] >= score
    assert set(before) <= set(after)


@given(RANKINGS)
def test_output_sorted_unique_and_complete(rankings: dict[str, list[tuple[str, float]]]) -> None:
    result = fuse(rankings)
    scores = [score for _, score in result]
    assert scores == sorted(scores, reverse=True)
    assert len(ids(result)) == len(set(ids(result)))
    assert set(ids(result)) == {doc_id for r in rankings.values() for doc_id, _ in r}


@given(RANKINGS)
def test_fusion_independent_of_ranking_order(rankings: dict[str, list[tuple[str, float]]]) -> None:
    reversed_rankings = dict(reversed(list(rankings.items())))
    assert ids(fuse(rankings)) == ids(fuse(reversed_rankings))


# --- normalise_scores / fuse_scores -----------------------------------------------------


def test_minmax() -> None:
    assert normalise_scores([("a", 2.0), ("b", 4.0), ("c", 3.0)]) == {"a": 0.0, "b": 1.0, "c": 0.5}


def test_minmax_all_equal_is_one() -> None:
    assert normalise_scores([("a", 2.0), ("b", 2.0)]) == {"a": 1.0, "b": 1.0}


def test_zscore() -> None:
    result = normalise_scores([("a", 1.0), ("b", 3.0)], method="zscore")
    assert result == {"a": pytest.approx(-1.0), "b": pytest.approx(1.0)}
    assert normalise_scores([("a", 5.0)], method="zscore") == {"a": 0.0}


def test_unknown_method_rejected() -> None:
    with pytest.raises(ValueError, match="minmax"):
        normalise_scores([("a", 1.0)], method="rank")  # type: ignore[arg-type]


def test_non_finite_score_rejected() -> None:
    with pytest.raises(ValueError, match="finite"):
        normalise_scores([("a", math.nan)])


def test_fuse_scores_convex_combination() -> None:
    rankings = {"dense": [("x", 0.9), ("y", 0.5)], "keyword": [("y", 12.0), ("z", 2.0)]}
    result = dict(fuse_scores(rankings, weights={"dense": 3.0, "keyword": 1.0}))
    # dense min-max: x 1, y 0, (z missing → 0); keyword: y 1, z 0, (x missing → 0).
    assert result == {
        "x": pytest.approx(0.75),
        "y": pytest.approx(0.25),
        "z": pytest.approx(0.0),
    }
    assert list(result) == ["x", "y", "z"]


def test_fuse_scores_uses_score_gaps_that_rrf_ignores() -> None:
    # y is a close second in "a" and a distant second in "b": fine by scores, not by ranks.
    rankings = {
        "a": [("x", 1.0), ("y", 0.99), ("z", 0.0)],
        "b": [("z", 1.0), ("y", 0.98), ("x", 0.97)],
    }
    assert ids(fuse_scores(rankings))[0] == "y"
    assert ids(fuse(rankings))[0] == "x"


def test_fuse_scores_zscore_missing_takes_floor() -> None:
    result = dict(fuse_scores({"a": [("x", 1.0), ("y", 3.0)], "b": [("z", 7.0)]}, method="zscore"))
    assert result["z"] == pytest.approx(0.5 * -1.0 + 0.5 * 0.0)


@given(RANKINGS, st.data())
def test_fuse_scores_minmax_in_unit_interval(
    rankings: dict[str, list[tuple[str, float]]], data: st.DataObject
) -> None:
    weights = {name: data.draw(WEIGHT) for name in rankings}
    result = fuse_scores(rankings, weights=weights)
    assert all(-1e-9 <= score <= 1 + 1e-9 for _, score in result)
    scores = [score for _, score in result]
    assert scores == sorted(scores, reverse=True)


@given(RANKINGS, st.data())
def test_fuse_scores_first_everywhere_with_top_score_ranks_first(
    rankings: dict[str, list[tuple[str, float]]], data: st.DataObject
) -> None:
    rankings = {
        name: [("top", 11.0), *[p for p in r if p[0] != "top"]] for name, r in rankings.items()
    }
    weights = {name: data.draw(WEIGHT) for name in rankings}
    result = fuse_scores(
        rankings, weights=weights, method=data.draw(st.sampled_from(["minmax", "zscore"]))
    )
    if any(weights[name] > 0 for name in rankings):
        assert result[0][0] == "top"
