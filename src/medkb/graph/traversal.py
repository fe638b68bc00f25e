"""Graph expansion for GraphRAG: breadth-first paths from seed pairs along typed relations.

The graph lives in the relational store; this module never touches it. :func:`expand`
asks a ``neighbours`` callable for the out-edges of a whole BFS level at once, so the
caller can answer each level with one query, and keeps for every node reached the most
confident of its shortest paths. :func:`neighbour_scores` turns those paths into scores
that let graph neighbours join the ranking.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple


class Edge(NamedTuple):
    """An out-edge: the node it leads to, the relation type, and a confidence in [0, 1]."""

    target_id: str
    relation_type: str
    confidence: float


#: The caller's edge lookup: frontier node ids → their out-edges (missing ids: none).
Neighbours = Callable[[Sequence[str]], Mapping[str, Sequence[Edge]]]


@dataclass(frozen=True)
class GraphPath:
    """A path from a seed: ``nodes[0]`` is the seed, ``nodes[-1]`` the node reached.

    Attributes:
        nodes: The node ids along the path, ``depth + 1`` of them.
        relations: The relation type of each hop, ``depth`` of them.
        confidence: The product of the hops' edge confidences.
        depth: The number of hops.
    """

    nodes: tuple[str, ...]
    relations: tuple[str, ...]
    confidence: float
    depth: int

    @property
    def target(self) -> str:
        """The node this path reaches."""
        return self.nodes[-1]

    def extend(self, edge: Edge) -> GraphPath:
        """This path followed by one more hop along ``edge``."""
        return GraphPath(
            nodes=(*self.nodes, edge.target_id),
            relations=(*self.relations, edge.relation_type),
            confidence=self.confidence * edge.confidence,
            depth=self.depth + 1,
        )


def expand(
    seeds: Sequence[str],
    neighbours: Neighbours,
    *,
    depth: int,
    relation_types: Collection[str] | None = None,
    max_nodes: int = 50,
) -> list[GraphPath]:
    """Breadth-first expansion from ``seeds``, one ``neighbours`` call per level.

    Each node is reached at most once, at its smallest depth (so paths have no cycles and
    never end at a seed), by the most confident path of that depth; on equal confidence
    the lexicographically smallest ``(nodes, relations)`` wins, whatever order the edges
    came in. When a level would take the total past ``max_nodes``, its most confident
    paths are kept and expansion stops.

    Args:
        seeds: Start node ids (duplicates ignored).
        neighbours: Called with each non-empty frontier, in output order; returns the
            out-edges of those nodes. Keys that are not in the frontier are ignored.
        depth: Maximum number of hops; ``0`` returns ``[]`` without calling ``neighbours``.
        relation_types: Relation types to follow; ``None`` follows all.
        max_nodes: Maximum number of nodes reached (seeds not counted).

    Returns:
        One path per node reached, ordered by depth, then confidence (highest first), then
        nodes.

    Raises:
        ValueError: If ``depth`` is negative or an edge's confidence is outside [0, 1].
    """
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}; use 0 to skip graph expansion.")
    frontier = [GraphPath((seed,), (), 1.0, 0) for seed in dict.fromkeys(seeds)]
    visited = {path.target for path in frontier}
    paths: list[GraphPath] = []
    for _level in range(depth):
        if not frontier or len(paths) >= max_nodes:
            break
        edges = neighbours([path.target for path in frontier])
        level = _next_level(frontier, edges, visited, relation_types)
        frontier = level[: max(0, max_nodes - len(paths))]
        visited.update(path.target for path in frontier)
        paths.extend(frontier)
    return paths


def _next_level(
    frontier: Sequence[GraphPath],
    edges: Mapping[str, Sequence[Edge]],
    visited: Collection[str],
    relation_types: Collection[str] | None,
) -> list[GraphPath]:
    """The best one-hop extension of ``frontier`` to each unvisited node, in output order."""
    best: dict[str, GraphPath] = {}
    for path in frontier:
        for edge in edges.get(path.target, ()):
            _check(edge)
            if edge.target_id in visited:
                continue
            if relation_types is not None and edge.relation_type not in relation_types:
                continue
            candidate = path.extend(edge)
            current = best.get(edge.target_id)
            if current is None or _rank_key(candidate) < _rank_key(current):
                best[edge.target_id] = candidate
    return sorted(best.values(), key=_rank_key)


def _rank_key(path: GraphPath) -> tuple[float, tuple[str, ...], tuple[str, ...]]:
    """Most confident first; ties by nodes, then relations."""
    return (-path.confidence, path.nodes, path.relations)


def _check(edge: Edge) -> None:
    if not (math.isfinite(edge.confidence) and 0.0 <= edge.confidence <= 1.0):
        raise ValueError(
            f"Edge to {edge.target_id!r} ({edge.relation_type}) has confidence "
            f"{edge.confidence}; confidences must lie in [0, 1]."
        )


def neighbour_scores(
    paths: Sequence[GraphPath],
    seed_scores: Mapping[str, float],
    *,
    weight: float,
) -> dict[str, float]:
    """Scores for the nodes the paths reach, to add graph neighbours into a ranking.

    ``score(node) = max over paths to node of weight × seed_scores[seed] × confidence``,
    where a seed missing from ``seed_scores`` scores ``0``. Nodes that are seeds (a key of
    ``seed_scores`` or the start of a path) are left out: they are ranked already.

    Args:
        paths: Paths from :func:`expand`.
        seed_scores: Seed id → its retrieval score.
        weight: How much a neighbour's score counts relative to its seed's, ``>= 0``.

    Returns:
        Reached node id → score, in order of first appearance in ``paths``.

    Raises:
        ValueError: If ``weight`` is negative or not finite.
    """
    if not (math.isfinite(weight) and weight >= 0):
        raise ValueError(f"weight must be finite and >= 0, got {weight}.")
    seeds = set(seed_scores) | {path.nodes[0] for path in paths}
    scores: dict[str, float] = {}
    for path in paths:
        if path.target in seeds:
            continue
        score = weight * seed_scores.get(path.nodes[0], 0.0) * path.confidence
        scores[path.target] = max(score, scores.get(path.target, score))
    return scores
