"""Building the graph: similarity links and typed links derived from metadata.

Only the pairs being written are linked, against the whole knowledge base; the rest of the
graph is left alone (DESIGN "Flows": re-link the touched neighbourhood).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import sqlalchemy as sa

from medkb.models import QAPair, Relation, Vector
from medkb.stores.relational.schema import qa
from medkb.stores.vector.base import VectorStore

#: MedQuAD question type → the relation from that pair to its focus' other pairs.
QTYPE_RELATIONS = {
    "treatment": "treatment_for",
    "symptoms": "symptom_of",
    "causes": "cause_of",
    "prevention": "prevents",
    "exams and tests": "diagnosed_by",
}
METADATA_CONFIDENCE = 0.9


def nearest_in_store(
    store: VectorStore,
    vectors: Sequence[Vector],
    *,
    ids: Sequence[str],
    tenant_id: str,
    k: int,
    threshold: float,
    stored: int,
) -> dict[str, list[tuple[str, float]]]:
    """For each of ``ids``, its ``k`` nearest stored pairs outside ``ids`` above ``threshold``.

    ``stored`` is how many of ``ids`` the store may already hold (pairs being updated):
    that many extra hits are asked for, so ``k`` remain after dropping them.
    """
    skip = set(ids)
    found: dict[str, list[tuple[str, float]]] = {}
    for qa_id, vector in zip(ids, vectors, strict=True):
        hits = store.search(vector, field="combined", k=k + stored, tenant_id=tenant_id)
        kept = [(h.id, h.score) for h in hits if h.id not in skip and h.score >= threshold]
        found[qa_id] = kept[:k]
    return found


def nearest_in_batch(
    vectors: np.ndarray, *, ids: Sequence[str], k: int, threshold: float
) -> dict[str, list[tuple[str, float]]]:
    """For each of ``ids``, its ``k`` nearest other members of the batch above ``threshold``."""
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    found: dict[str, list[tuple[str, float]]] = {}
    for row, qa_id in enumerate(ids):
        order = np.argsort(-scores[row])[:k]
        found[qa_id] = [
            (ids[j], float(scores[row, j])) for j in order if scores[row, j] >= threshold
        ]
    return found


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
