"""Checking and repairing the graph: ``medkb sync verify`` / ``sync repair``, graph part.

The writer keeps one invariant (``graph.linking.similarity_links``): every pair is linked
``similar_to``, both ways, to its ``k`` nearest pairs of the same tenant (cosine of the
stored ``combined`` embeddings at least the threshold). Links beyond those are allowed
(a pair also keeps the links other pairs made to it). :func:`verify_graph` recomputes each
pair's nearest pairs from the relational store, chunk by chunk, and reports:

* ``missing``: a ``similar_to`` link the current embeddings imply but the store lacks;
* ``dangling``: a relation row whose source or target is gone or lies in another tenant.

Near-ties are not demanded: a neighbour is required only when it beats the next-best
candidate (and the threshold) by :data:`TIE_MARGIN`, so rounding never reads as drift.
:func:`repair_graph` adds the missing links, deletes the dangling rows and queues the
touched pairs in the outbox (their ``related_nodes`` change); ``sync repair`` then applies
them. The check is a k-NN over all of the tenant's pairs: O(n²·d) arithmetic (7.6 s for
10,000 pairs of 256 dimensions, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from medkb.config import GraphSettings
from medkb.graph.knn import knn
from medkb.models import Relation
from medkb.stores.relational import outbox, pairs, relations, vectors
from medkb.sync.apply import Clock, utcnow

#: How far a neighbour must beat the next candidate (and the threshold) to be required.
TIE_MARGIN = 1e-3
#: Pairs whose neighbours are computed per pass over the tenant's vectors.
QUERY_ROWS = 2048


@dataclass(frozen=True)
class MissingLink:
    """A ``similar_to`` link the embeddings imply: ``source`` → ``target`` at ``score``."""

    source: str
    target: str
    score: float


@dataclass(frozen=True)
class GraphReport:
    """How one tenant's stored graph compares with what its embeddings imply."""

    tenant_id: str
    pairs: int
    missing: list[MissingLink]
    #: Relation rows ``{"id", "source_id", "target_id", "type"}`` outside the tenant.
    dangling: list[dict[str, object]]

    @property
    def drift(self) -> int:
        """Missing links plus dangling rows."""
        return len(self.missing) + len(self.dangling)

    @property
    def clean(self) -> bool:
        """Whether the graph is what the embeddings imply."""
        return self.drift == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, with the drift total and the verdict."""
        return {**asdict(self), "drift": self.drift, "clean": self.clean}


@dataclass(frozen=True)
class GraphRepairReport:
    """What a graph repair did, and the graph before and after."""

    added: int
    removed: int
    before: GraphReport
    after: GraphReport

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, with both reports in full."""
        return {
            "added": self.added,
            "removed": self.removed,
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }


def verify_graph(
    engine: sa.Engine,
    *,
    tenant_id: str,
    graph: GraphSettings,
    query_rows: int = QUERY_ROWS,
    chunk_rows: int = vectors.CHUNK_ROWS,
) -> GraphReport:
    """Compare ``tenant_id``'s ``similar_to`` links with its embeddings, and find dangling rows."""
    missing: list[MissingLink] = []
    count = 0
    with engine.connect() as conn:
        for ids, matrix in vectors.field_chunks(conn, tenant_id=tenant_id, size=query_rows):
            count += len(ids)
            if graph.similar_k == 0:
                continue
            chunks = vectors.field_chunks(conn, tenant_id=tenant_id, size=chunk_rows)
            found = knn(
                ids, matrix, chunks, k=graph.similar_k + 1, threshold=graph.similar_threshold
            )
            have = relations.similar_pairs(conn, ids)
            for source, hits in found.forward.items():
                missing += _missing(source, hits, have, graph)
        dangling = relations.dangling(conn, tenant_id=tenant_id)
    unique = {(m.source, m.target): m for m in missing}
    return GraphReport(
        tenant_id=tenant_id,
        pairs=count,
        missing=[unique[key] for key in sorted(unique)],
        dangling=dangling,
    )


def _missing(
    source: str, hits: list[tuple[str, float]], have: set[tuple[str, str]], graph: GraphSettings
) -> Iterator[MissingLink]:
    """Required links of ``source`` (both directions) absent from ``have``."""
    k = graph.similar_k
    floor = graph.similar_threshold + TIE_MARGIN
    if len(hits) > k:
        floor = max(floor, hits[k][1] + TIE_MARGIN)
    for target, score in hits[:k]:
        if score < floor:
            continue
        for pair in ((source, target), (target, source)):
            if pair not in have:
                yield MissingLink(pair[0], pair[1], round(score, 6))


def repair_graph(
    engine: sa.Engine,
    *,
    tenant_id: str,
    graph: GraphSettings,
    clock: Clock = utcnow,
    query_rows: int = QUERY_ROWS,
) -> GraphRepairReport:
    """Add the missing links, delete the dangling rows, queue the touched pairs, verify again.

    The touched pairs wait in the outbox; ``sync repair`` applies them next (their
    ``related_nodes`` in the vector store change).
    """
    before = verify_graph(engine, tenant_id=tenant_id, graph=graph, query_rows=query_rows)
    if not before.clean:
        _fix(engine, before, clock=clock)
    after = verify_graph(engine, tenant_id=tenant_id, graph=graph, query_rows=query_rows)
    return GraphRepairReport(
        added=len(before.missing), removed=len(before.dangling), before=before, after=after
    )


def _fix(engine: sa.Engine, report: GraphReport, *, clock: Clock) -> None:
    now = clock()
    links = [
        Relation(m.source, m.target, "similar_to", round(max(0.0, min(1.0, m.score)), 4))
        for m in report.missing
    ]
    touched = {m.source for m in report.missing} | {m.target for m in report.missing}
    touched |= {str(row[key]) for row in report.dangling for key in ("source_id", "target_id")}
    with engine.begin() as conn:
        relations.delete_rows(conn, [int(str(row["id"])) for row in report.dangling])
        relations.add_missing(conn, links, tenant_id=report.tenant_id, now=now)
        mine = _own_ids(conn, touched, tenant_id=report.tenant_id)
        outbox.enqueue(conn, mine, tenant_id=report.tenant_id, op="upsert", now=now)


def _own_ids(conn: sa.Connection, ids: set[str], *, tenant_id: str) -> list[str]:
    known = pairs.existing_hashes(conn, sorted(ids))
    return sorted(qa_id for qa_id, (tenant, _) in known.items() if tenant == tenant_id)
