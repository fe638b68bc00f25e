"""Typed relations between pairs (``medical_qa_relations``), the graph of GraphRAG."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

import sqlalchemy as sa

from medkb.models import Relation
from medkb.stores.relational.schema import relations


def replace_derived(
    conn: sa.Connection,
    source_ids: Collection[str],
    new: Sequence[Relation],
    *,
    tenant_id: str,
    now: datetime,
) -> None:
    """Replace the derived (non-manual) relations touching ``source_ids`` with ``new``.

    Both directions are replaced: a relation is stored once per direction, so the
    neighbourhood of a changed pair is rewritten whole and nothing stale is left.
    """
    ids = list(source_ids)
    touching = sa.or_(relations.c.source_id.in_(ids), relations.c.target_id.in_(ids))
    conn.execute(relations.delete().where(touching, relations.c.origin != "manual"))
    rows = _dedupe(new)
    if rows:
        conn.execute(relations.insert(), [relation_row(rel, tenant_id, now) for rel in rows])


def _dedupe(new: Sequence[Relation]) -> list[Relation]:
    best: dict[tuple[str, str, str], Relation] = {}
    for rel in new:
        key = (rel.source_id, rel.target_id, rel.type)
        if rel.source_id != rel.target_id and (
            key not in best or rel.confidence > best[key].confidence
        ):
            best[key] = rel
    return list(best.values())


def relation_row(rel: Relation, tenant_id: str, now: datetime) -> dict[str, object]:
    """The ``medical_qa_relations`` row of ``rel`` in ``tenant_id``, created and updated ``now``."""
    return {
        "tenant_id": tenant_id,
        "source_id": rel.source_id,
        "target_id": rel.target_id,
        "relation_type": rel.type,
        "confidence_score": rel.confidence,
        "origin": rel.origin,
        "created_at": now,
        "updated_at": now,
    }


def outgoing(
    conn: sa.Connection, ids: Sequence[str], *, types: Collection[str] | None = None
) -> dict[str, list[Relation]]:
    """Relations leaving each of ``ids``, strongest first."""
    query = sa.select(relations).where(relations.c.source_id.in_(list(ids)))
    if types:
        query = query.where(relations.c.relation_type.in_(list(types)))
    query = query.order_by(relations.c.confidence_score.desc(), relations.c.target_id)
    found: dict[str, list[Relation]] = {qa_id: [] for qa_id in ids}
    for row in conn.execute(query):
        found[row.source_id].append(
            Relation(
                source_id=row.source_id,
                target_id=row.target_id,
                type=row.relation_type,
                confidence=float(row.confidence_score),
                origin=row.origin,
            )
        )
    return found


def neighbour_ids(conn: sa.Connection, ids: Collection[str]) -> set[str]:
    """Every pair linked to one of ``ids``, in either direction."""
    ids = list(ids)
    out = sa.select(relations.c.target_id).where(relations.c.source_id.in_(ids))
    back = sa.select(relations.c.source_id).where(relations.c.target_id.in_(ids))
    return {row[0] for row in conn.execute(sa.union(out, back))}


def count_relations(conn: sa.Connection, *, tenant_id: str) -> dict[str, int]:
    """Relations per type."""
    rows = conn.execute(
        sa.select(relations.c.relation_type, sa.func.count())
        .where(relations.c.tenant_id == tenant_id)
        .group_by(relations.c.relation_type)
    )
    return {kind: int(count) for kind, count in rows}
