"""Building the graph: similarity links and typed links derived from metadata.

Only the touched neighbourhood is re-linked (DESIGN "Flows"): the pairs being written,
against the whole knowledge base, and the pairs whose nearest neighbours they change.
Similarity comes from the embeddings the relational store keeps, never from the vector
store, which may lag behind (``eventual`` / ``batch``) or be down.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import chain

import numpy as np
import sqlalchemy as sa

from medkb.graph.index import LinkIndex
from medkb.graph.knn import KnnResult, Neighbours, knn
from medkb.models import QAPair, Relation, Vector
from medkb.stores.relational import relations, vectors
from medkb.stores.relational.schema import qa

#: MedQuAD question type → the relation from that pair to its focus' other pairs.
QTYPE_RELATIONS = {
    "treatment": "treatment_for",
    "symptoms": "symptom_of",
    "causes": "cause_of",
    "prevention": "prevents",
    "exams and tests": "diagnosed_by",
}
METADATA_CONFIDENCE = 0.9
#: Confidences are stored to 4 decimals: a score this close to a pair's ``k``-th link
#: counts as entering its neighbourhood (an extra link is harmless, a missing one is not).
LINK_TOLERANCE = 1e-4


def similarity_links(
    conn: sa.Connection,
    *,
    tenant_id: str,
    changed: Mapping[str, Vector],
    relink: Collection[str] = (),
    k: int,
    threshold: float,
    chunk_rows: int = vectors.CHUNK_ROWS,
    index: LinkIndex | None = None,
) -> list[Relation]:
    """The ``similar_to`` links a write needs, from the embeddings of the system of record.

    The tenant's stored ``combined`` vectors are scanned once, a chunk at a time (one
    matrix product per chunk for the whole batch), so pairs written moments ago are linked
    whether or not the vector store has caught up, and a vector-store outage loses nothing.
    Every pair keeps symmetric links to its ``k`` nearest pairs (``sync.graph`` checks it):

    * each pair of ``changed`` (its new vector; its stored one is ignored) is linked to
      its ``k`` nearest pairs, the rest of the batch included;
    * each pair of ``relink`` (the old neighbours of a rewritten or deleted pair, which
      lost a link) is linked to its ``k`` nearest again, from its stored vector;
    * every other pair that one of ``changed`` now enters the ``k`` nearest of (it scores
      at least that pair's ``k``-th strongest link) is linked to it.

    With an ``index`` (``graph.index``: the same stored vectors, held in memory and caught
    up first), the scan reads memory instead of the whole table; the links are the same.
    The caller holds ``index.lock``.
    """
    if k == 0:
        return []
    ids = list(changed)
    stored = vectors.field_vectors(conn, sorted(set(relink) - set(ids)))
    dims = {v.shape[0] for v in changed.values()}
    query_ids = ids + [i for i in stored if not dims or stored[i].shape[0] in dims]
    if not query_ids:
        return []
    queries = np.stack([*(changed[i] for i in ids), *(stored[i] for i in query_ids[len(ids) :])])
    chunks = _corpus(conn, tenant_id=tenant_id, exclude=set(ids), size=chunk_rows, index=index)
    batch = [(ids, np.stack(list(changed.values())))] if ids else []
    found = knn(
        query_ids, queries, chain(chunks, batch), k=k, threshold=threshold, reverse_rows=len(ids)
    )
    entering = _entering(conn, found, ids, k=k)
    return similarity_relations(found.forward, entering, k=k)


def _corpus(
    conn: sa.Connection,
    *,
    tenant_id: str,
    exclude: set[str],
    size: int,
    index: LinkIndex | None,
) -> Iterable[tuple[Sequence[str], np.ndarray]]:
    """The tenant's stored vectors but ``exclude``: from ``index`` when given, else the table."""
    if index is None:
        return vectors.field_chunks(conn, tenant_id=tenant_id, size=size, exclude=exclude)
    index.refresh(conn)
    return index.chunks(exclude=exclude)


def _entering(conn: sa.Connection, found: KnnResult, new: Sequence[str], *, k: int) -> Neighbours:
    """The new pairs that enter each other pair's ``k`` nearest (its ``k``-th link or better)."""
    if not found.reverse_ids:
        return {}
    kth = relations.kth_similarity(conn, found.reverse_ids, k=k)
    floors = np.array(
        [kth.get(qa_id, -np.inf) - LINK_TOLERANCE for qa_id in found.reverse_ids],
        dtype=np.float32,
    )
    scores = found.reverse_scores
    if scores.shape[1] > k:  # at most k of the batch can be among a pair's k nearest
        kth_best = -np.partition(-scores, k - 1, axis=1)[:, k - 1]
        floors = np.maximum(floors, kth_best)
    rows, cols = np.nonzero(scores >= floors[:, None])
    entering: Neighbours = {}
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        score = float(scores[row, col])
        entering.setdefault(found.reverse_ids[row], []).append((new[col], score))
    return entering


def similarity_relations(
    *neighbour_maps: dict[str, list[tuple[str, float]]], k: int
) -> list[Relation]:
    """Symmetric ``similar_to`` relations to each pair's ``k`` best neighbours overall."""
    merged: dict[str, dict[str, float]] = {}
    for neighbours in neighbour_maps:
        for qa_id, hits in neighbours.items():
            for target, score in hits:
                merged.setdefault(qa_id, {})[target] = score
    out: list[Relation] = []
    for qa_id, targets in merged.items():
        for target, score in sorted(targets.items(), key=lambda t: (-t[1], t[0]))[:k]:
            confidence = round(max(0.0, min(1.0, score)), 4)
            out.append(Relation(qa_id, target, "similar_to", confidence, "similarity"))
            out.append(Relation(target, qa_id, "similar_to", confidence, "similarity"))
    return out


def metadata_relations(conn: sa.Connection, batch: Sequence[QAPair]) -> list[Relation]:
    """Typed relations between pairs about the same focus (MedQuAD ``focus`` + ``qtype``)."""
    foci = {focus for pair in batch if (focus := _focus(pair))}
    if not foci:
        return []
    focus_col = qa.c.extra["focus"].as_string()
    qtype_col = qa.c.extra["qtype"].as_string()
    rows = conn.execute(
        sa.select(qa.c.id, focus_col.label("focus"), qtype_col.label("qtype")).where(
            focus_col.in_(sorted(foci)), qa.c.tenant_id == batch[0].tenant_id
        )
    ).all()
    members: dict[str, list[tuple[str, str | None]]] = {}
    for row in rows:
        members.setdefault(row.focus.lower(), []).append((row.id, row.qtype))
    batch_ids = {pair.id for pair in batch}
    return [rel for group in members.values() for rel in _focus_relations(group, batch_ids)]


def _focus(pair: QAPair) -> str | None:
    focus = pair.metadata.extra.get("focus")
    return str(focus) if focus else None


def _focus_relations(
    group: list[tuple[str, str | None]], batch_ids: set[str]
) -> Iterable[Relation]:
    for source, qtype in group:
        kind = QTYPE_RELATIONS.get((qtype or "").lower())
        if kind is None:
            continue
        for target, _ in group:
            if target != source and (source in batch_ids or target in batch_ids):
                yield Relation(source, target, kind, METADATA_CONFIDENCE, "metadata")
                yield Relation(target, source, "related_to", METADATA_CONFIDENCE, "metadata")
