"""Graph expansion: BFS by level, best paths, limits, determinism, neighbour scores."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medkb.graph.traversal import Edge, GraphPath, expand, neighbour_scores

Graph = dict[str, list[Edge]]
RELATIONS = ("similar_to", "symptom_of", "treatment_for")


class Lookup:
    """A ``neighbours`` callable over an in-memory graph that records its calls."""

    def __init__(self, graph: Mapping[str, Sequence[Edge]]) -> None:
        self.graph = graph
        self.calls: list[list[str]] = []

    def __call__(self, frontier: Sequence[str]) -> dict[str, Sequence[Edge]]:
        self.calls.append(list(frontier))
        return {node: self.graph[node] for node in frontier if node in self.graph}


def chain() -> Graph:
    #   a --0.9 similar_to--> b --0.8 symptom_of--> c --1.0--> d
    #   a --0.5 treatment_for--> c
    return {
        "a": [Edge("b", "similar_to", 0.9), Edge("c", "treatment_for", 0.5)],
        "b": [Edge("c", "symptom_of", 0.8), Edge("a", "similar_to", 0.9)],
        "c": [Edge("d", "similar_to", 1.0)],
    }


def targets(paths: Sequence[GraphPath]) -> list[str]:
    return [path.nodes[-1] for path in paths]


def test_depth_zero_returns_nothing_without_calls() -> None:
    lookup = Lookup(chain())
    assert expand(["a"], lookup, depth=0) == []
    assert lookup.calls == []


def test_negative_depth_rejected() -> None:
    with pytest.raises(ValueError, match="depth"):
        expand(["a"], Lookup(chain()), depth=-1)


def test_one_level() -> None:
    paths = expand(["a"], Lookup(chain()), depth=1)
    assert paths == [
        GraphPath(("a", "b"), ("similar_to",), 0.9, 1),
        GraphPath(("a", "c"), ("treatment_for",), 0.5, 1),
    ]


def test_two_levels_one_call_per_level_with_whole_frontier() -> None:
    lookup = Lookup(chain())
    paths = expand(["a"], lookup, depth=2)
    assert targets(paths) == ["b", "c", "d"]
    assert paths[2] == GraphPath(("a", "c", "d"), ("treatment_for", "similar_to"), 0.5, 2)
    assert lookup.calls == [["a"], ["b", "c"]]


def test_shortest_path_kept_even_if_longer_is_more_confident() -> None:
    # c is reached at depth 1 (0.5); the depth-2 route via b (0.72) does not replace it.
    paths = {path.nodes[-1]: path for path in expand(["a"], Lookup(chain()), depth=3)}
    assert paths["c"].nodes == ("a", "c")


def test_best_confidence_among_equally_short_paths() -> None:
    graph = {
        "s": [Edge("x", "similar_to", 0.3), Edge("y", "similar_to", 0.9)],
        "x": [Edge("t", "symptom_of", 1.0)],
        "y": [Edge("t", "symptom_of", 0.5), Edge("t", "treatment_for", 0.6)],
    }
    paths = {path.nodes[-1]: path for path in expand(["s"], Lookup(graph), depth=2)}
    assert paths["t"].nodes == ("s", "y", "t")
    assert paths["t"].relations == ("similar_to", "treatment_for")
    assert paths["t"].confidence == pytest.approx(0.54)


def test_relation_filter() -> None:
    paths = expand(["a"], Lookup(chain()), depth=3, relation_types={"similar_to"})
    assert targets(paths) == ["b"]


def test_stops_when_frontier_empty() -> None:
    lookup = Lookup(chain())
    paths = expand(["a"], lookup, depth=10)
    assert targets(paths) == ["b", "c", "d"]
    assert len(lookup.calls) == 3  # the level from d finds nothing new; no 4th call


def test_max_nodes_keeps_most_confident_and_stops() -> None:
    lookup = Lookup(chain())
    paths = expand(["a"], lookup, depth=2, max_nodes=1)
    assert targets(paths) == ["b"]
    assert len(lookup.calls) == 1


def test_seeds_are_never_reached_and_duplicates_ignored() -> None:
    lookup = Lookup(chain())
    paths = expand(["b", "a", "b"], lookup, depth=2)
    assert targets(paths) == ["c", "d"]
    assert lookup.calls[0] == ["b", "a"]


def test_edge_order_does_not_matter() -> None:
    graph = {"s": [Edge("t", "b", 0.5), Edge("t", "a", 0.5), Edge("u", "a", 0.5)]}
    reversed_graph = {node: list(reversed(edges)) for node, edges in graph.items()}
    assert expand(["s"], Lookup(graph), depth=1) == expand(["s"], Lookup(reversed_graph), depth=1)
    assert expand(["s"], Lookup(graph), depth=1)[0].relations == ("a",)


@pytest.mark.parametrize("confidence", [-0.1, 1.5, math.nan])
def test_invalid_confidence_rejected(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        expand(["s"], Lookup({"s": [Edge("t", "a", confidence)]}), depth=1)


def test_ignores_keys_outside_the_frontier() -> None:
    def neighbours(frontier: Sequence[str]) -> dict[str, list[Edge]]:
        return {"elsewhere": [Edge("z", "a", 1.0)]}

    assert expand(["s"], neighbours, depth=2) == []


# --- properties -------------------------------------------------------------------------

NODES = [f"n{i}" for i in range(8)]
EDGE = st.builds(
    Edge,
    st.sampled_from(NODES),
    st.sampled_from(RELATIONS),
    st.sampled_from([0.0, 0.25, 0.5, 0.8, 1.0]),
)
GRAPHS = st.dictionaries(st.sampled_from(NODES), st.lists(EDGE, max_size=4))
SEEDS = st.lists(st.sampled_from(NODES), max_size=3)
ALLOWED = st.none() | st.sets(st.sampled_from(RELATIONS))


def best_shortest(
    graph: Graph, seeds: Sequence[str], depth: int, allowed: set[str] | None
) -> dict[str, tuple[int, float]]:
    """Brute force over all walks: node → (fewest hops, best confidence with that many)."""
    found: dict[str, tuple[int, float]] = {}
    walks = [(seed, 1.0) for seed in set(seeds)]
    for level in range(1, depth + 1):
        walks = [
            (edge.target_id, confidence * edge.confidence)
            for node, confidence in walks
            for edge in graph.get(node, [])
            if allowed is None or edge.relation_type in allowed
        ]
        for node, confidence in walks:
            if node in seeds:
                continue
            hops, best = found.get(node, (level, -1.0))
            if hops == level:
                found[node] = (level, max(best, confidence))
    return found


@given(GRAPHS, SEEDS, st.integers(0, 4), ALLOWED, st.integers(0, 10))
def test_expand_invariants(
    graph: Graph, seeds: list[str], depth: int, allowed: set[str] | None, max_nodes: int
) -> None:
    lookup = Lookup(graph)
    paths = expand(seeds, lookup, depth=depth, relation_types=allowed, max_nodes=max_nodes)
    reached = targets(paths)
    assert len(reached) == len(set(reached))
    assert not set(reached) & set(seeds)
    assert len(paths) <= max_nodes
    for path in paths:
        assert 1 <= path.depth <= depth
        assert len(path.nodes) == path.depth + 1 == len(path.relations) + 1
        assert len(set(path.nodes)) == len(path.nodes)
        assert path.nodes[0] in seeds
        assert allowed is None or set(path.relations) <= allowed
        hops = zip(path.nodes[:-1], path.nodes[1:], path.relations, strict=True)
        confidences = [_edge_confidence(graph, a, b, rel) for a, b, rel in hops]
        assert path.confidence == pytest.approx(math.prod(confidences))
    assert [p.depth for p in paths] == sorted(p.depth for p in paths)


@given(GRAPHS, SEEDS, st.integers(0, 4), ALLOWED, st.integers(0, 10))
def test_one_call_per_level_expanded(
    graph: Graph, seeds: list[str], depth: int, allowed: set[str] | None, max_nodes: int
) -> None:
    lookup = Lookup(graph)
    paths = expand(seeds, lookup, depth=depth, relation_types=allowed, max_nodes=max_nodes)
    deepest = max((p.depth for p in paths), default=0)
    full = len(paths) >= max_nodes
    if not seeds:
        expected = 0
    elif full:
        expected = min(depth, deepest)
    else:
        expected = min(depth, deepest + 1)
    assert len(lookup.calls) == expected
    for level, frontier in enumerate(lookup.calls, start=1):
        assert frontier == (
            list(dict.fromkeys(seeds))
            if level == 1
            else [p.nodes[-1] for p in paths if p.depth == level - 1]
        )


@given(GRAPHS, SEEDS, st.integers(0, 4), ALLOWED)
def test_expand_matches_brute_force(
    graph: Graph, seeds: list[str], depth: int, allowed: set[str] | None
) -> None:
    paths = expand(seeds, Lookup(graph), depth=depth, relation_types=allowed, max_nodes=100)
    expected = best_shortest(graph, seeds, depth, allowed)
    assert {p.nodes[-1]: p.depth for p in paths} == {n: hops for n, (hops, _) in expected.items()}
    for path in paths:
        assert path.confidence == pytest.approx(expected[path.nodes[-1]][1])


@given(GRAPHS, SEEDS, st.integers(0, 3))
def test_expand_is_deterministic_under_edge_permutation(
    graph: Graph, seeds: list[str], depth: int
) -> None:
    shuffled = {node: edges[::-1] for node, edges in reversed(list(graph.items()))}
    assert expand(seeds, Lookup(graph), depth=depth) == expand(seeds, Lookup(shuffled), depth=depth)


def _edge_confidence(graph: Graph, source: str, target: str, relation: str) -> float:
    options = [
        e.confidence
        for e in graph.get(source, [])
        if (e.target_id, e.relation_type) == (target, relation)
    ]
    assert options, f"no edge {source} -{relation}-> {target}"
    return max(options)


# --- neighbour_scores -------------------------------------------------------------------


def test_neighbour_scores() -> None:
    paths = [
        GraphPath(("a", "x"), ("similar_to",), 0.5, 1),
        GraphPath(("b", "x"), ("similar_to",), 1.0, 1),
        GraphPath(("a", "x", "y"), ("similar_to", "symptom_of"), 0.25, 2),
    ]
    scores = neighbour_scores(paths, {"a": 0.8, "b": 0.2}, weight=0.5)
    assert scores == {"x": pytest.approx(0.2), "y": pytest.approx(0.1)}


def test_neighbour_scores_skip_seeds_and_default_missing_seed_to_zero() -> None:
    paths = [GraphPath(("a", "b"), ("r",), 1.0, 1), GraphPath(("c", "d"), ("r",), 1.0, 1)]
    assert neighbour_scores(paths, {"a": 1.0, "b": 1.0}, weight=1.0) == {"d": 0.0}


@pytest.mark.parametrize("weight", [-1.0, math.inf])
def test_neighbour_scores_reject_bad_weight(weight: float) -> None:
    with pytest.raises(ValueError, match="weight"):
        neighbour_scores([], {}, weight=weight)


@given(GRAPHS, SEEDS, st.floats(0, 1), st.floats(0, 2))
def test_neighbour_scores_bounded_by_weighted_seed_score(
    graph: Graph, seeds: list[str], seed_score: float, weight: float
) -> None:
    paths = expand(seeds, Lookup(graph), depth=2)
    scores = neighbour_scores(paths, dict.fromkeys(seeds, seed_score), weight=weight)
    assert set(scores) == set(targets(paths))
    assert all(0 <= score <= weight * seed_score + 1e-12 for score in scores.values())
