"""Typed relations between pairs (``medical_qa_relations``), the graph of GraphRAG.

A relation row is only ever read when its source, its target and the row itself belong
to one tenant: a row pointing across tenants (which medkb never writes) is invisible to
every reader and reported by ``medkb sync verify`` as dangling.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from medkb.models import FILTERABLE_KEYS, Relation
from medkb.stores.relational.schema import qa, relations

Filters = Mapping[str, Sequence[str]]


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
    neighbourhood of a changed pair is rewritten whole and nothing stale is left. A manual
    relation is never replaced, and a derived one for the same (source, target, type) is
    dropped rather than colliding with it; so are relations of ``new`` that already exist
    (links between two pairs outside ``source_ids``).
    """
    ids = list(source_ids)
    touching = sa.or_(relations.c.source_id.in_(ids), relations.c.target_id.in_(ids))
    conn.execute(relations.delete().where(touching, relations.c.origin != "manual"))
    add_missing(conn, new, tenant_id=tenant_id, now=now)


def add_missing(
    conn: sa.Connection, new: Sequence[Relation], *, tenant_id: str, now: datetime
) -> int:
    """Insert the relations of ``new`` whose (source, target, type) is not stored yet.

    Existing rows, manual or derived, are left as they are (``ON CONFLICT DO NOTHING``,
    so concurrent writers adding the same link do not fail). Returns the rows offered.
    """
    rows = _dedupe(new)
    for start in range(0, len(rows), 1000):
        chunk = [relation_row(rel, tenant_id, now) for rel in rows[start : start + 1000]]
        conn.execute(_insert_ignoring_conflicts(conn), chunk)
    return len(rows)


def _insert_ignoring_conflicts(conn: sa.Connection) -> sa.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(relations).on_conflict_do_nothing()
    return sqlite.insert(relations).on_conflict_do_nothing()


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


#: The source pair in :func:`outgoing`'s join (made once: building it costs per call).
_SOURCE_QA = qa.alias("source_qa")
#: What :func:`outgoing` reads of a relation, in :class:`Relation`'s field order.
_RELATION_COLUMNS = (
    relations.c.source_id,
    relations.c.target_id,
    relations.c.relation_type,
    relations.c.confidence_score,
    relations.c.origin,
)


def outgoing(
    conn: sa.Connection,
    ids: Sequence[str],
    *,
    tenant_id: str | None = None,
    types: Collection[str] | None = None,
    active_only: bool = False,
    filters: Filters | None = None,
) -> dict[str, list[Relation]]:
    """Relations leaving each of ``ids``, strongest first.

    Only relations whose row, source and target share one tenant are returned
    (``tenant_id`` when given, else the source's own). ``active_only`` drops relations to
    inactive pairs and ``filters`` (metadata, as for search) those to pairs outside them,
    so a graph walk never passes through a pair the query may not see.
    """
    source = _SOURCE_QA
    query = (
        sa.select(*_RELATION_COLUMNS)
        .join(source, source.c.id == relations.c.source_id)
        .join(qa, qa.c.id == relations.c.target_id)
        .where(
            relations.c.source_id.in_(list(ids)),
            relations.c.tenant_id == source.c.tenant_id,
            qa.c.tenant_id == source.c.tenant_id,
        )
    )
    if tenant_id is not None:
        query = query.where(source.c.tenant_id == tenant_id)
    if active_only:
        query = query.where(qa.c.is_active == sa.true())
    for key, values in (filters or {}).items():
        query = query.where(qa.c[key].in_(list(values)) if key in FILTERABLE_KEYS else sa.false())
    if types:
        query = query.where(relations.c.relation_type.in_(list(types)))
    query = query.order_by(relations.c.confidence_score.desc(), relations.c.target_id)
    found: dict[str, list[Relation]] = {qa_id: [] for qa_id in ids}
    for source_id, target_id, kind, confidence, origin in conn.execute(query):
        found[source_id].append(Relation(source_id, target_id, kind, float(confidence), origin))
    return found


def neighbour_ids(conn: sa.Connection, ids: Collection[str], *, tenant_id: str) -> set[str]:
    """Every pair of ``tenant_id`` linked to one of ``ids``, in either direction."""
    ids = list(ids)
    out = (
        sa.select(relations.c.target_id)
        .join(qa, qa.c.id == relations.c.target_id)
        .where(relations.c.source_id.in_(ids), qa.c.tenant_id == tenant_id)
    )
    back = (
        sa.select(relations.c.source_id)
        .join(qa, qa.c.id == relations.c.source_id)
        .where(relations.c.target_id.in_(ids), qa.c.tenant_id == tenant_id)
    )
    return {row[0] for row in conn.execute(sa.union(out, back))}


def count_relations(conn: sa.Connection, *, tenant_id: str) -> dict[str, int]:
    """Relations per type."""
    rows = conn.execute(
        sa.select(relations.c.relation_type, sa.func.count())
        .where(relations.c.tenant_id == tenant_id)
        .group_by(relations.c.relation_type)
    )
    return {kind: int(count) for kind, count in rows}


def kth_similarity(conn: sa.Connection, ids: Sequence[str], *, k: int) -> dict[str, float]:
    """Each id's ``k``-th strongest derived ``similar_to`` confidence; ids with fewer links
    are absent.

    The derived links of a pair include its ``k`` nearest pairs, so this is the score a new
    pair must reach to enter that neighbourhood.
    """
    rank = (
        sa.func.row_number()
        .over(partition_by=relations.c.source_id, order_by=relations.c.confidence_score.desc())
        .label("rank")
    )
    found: dict[str, float] = {}
    for start in range(0, len(ids), 1000):
        ranked = (
            sa.select(relations.c.source_id, relations.c.confidence_score, rank)
            .where(
                relations.c.source_id.in_(list(ids[start : start + 1000])),
                relations.c.relation_type == "similar_to",
                relations.c.origin == "similarity",
            )
            .subquery()
        )
        rows = conn.execute(
            sa.select(ranked.c.source_id, ranked.c.confidence_score).where(ranked.c.rank == k)
        )
        found.update((source_id, float(confidence)) for source_id, confidence in rows)
    return found


def similar_pairs(conn: sa.Connection, ids: Sequence[str]) -> set[tuple[str, str]]:
    """(source, target) of every ``similar_to`` relation, of any origin, touching ``ids``."""
    found: set[tuple[str, str]] = set()
    for start in range(0, len(ids), 1000):
        chunk = list(ids[start : start + 1000])
        rows = conn.execute(
            sa.select(relations.c.source_id, relations.c.target_id).where(
                sa.or_(relations.c.source_id.in_(chunk), relations.c.target_id.in_(chunk)),
                relations.c.relation_type == "similar_to",
            )
        )
        found.update((source, target) for source, target in rows)
    return found


def dangling(conn: sa.Connection, *, tenant_id: str) -> list[dict[str, object]]:
    """Relation rows involving ``tenant_id`` that do not lie inside it.

    A row whose source or target no longer exists, belongs to another tenant, or whose own
    tenant differs from its pairs' (medkb never writes such rows; a manual edit of the
    database or a restore of mismatched tables can).
    """
    source, target = qa.alias("source_qa"), qa.alias("target_qa")
    source_tenant = sa.func.coalesce(source.c.tenant_id, "")
    target_tenant = sa.func.coalesce(target.c.tenant_id, "")
    query = (
        sa.select(
            relations.c.id,
            relations.c.source_id,
            relations.c.target_id,
            relations.c.relation_type,
        )
        .outerjoin(source, source.c.id == relations.c.source_id)
        .outerjoin(target, target.c.id == relations.c.target_id)
        .where(
            sa.or_(
                relations.c.tenant_id == tenant_id,
                source_tenant == tenant_id,
                target_tenant == tenant_id,
            ),
            sa.not_(
                sa.and_(
                    relations.c.tenant_id == tenant_id,
                    source_tenant == tenant_id,
                    target_tenant == tenant_id,
                )
            ),
        )
        .order_by(relations.c.id)
    )
    return [
        {
            "id": row.id,
            "source_id": row.source_id,
            "target_id": row.target_id,
            "type": row.relation_type,
        }
        for row in conn.execute(query)
    ]


def delete_rows(conn: sa.Connection, row_ids: Sequence[int]) -> None:
    """Delete relation rows by their row id."""
    for start in range(0, len(row_ids), 1000):
        conn.execute(
            relations.delete().where(relations.c.id.in_(list(row_ids[start : start + 1000])))
        )
