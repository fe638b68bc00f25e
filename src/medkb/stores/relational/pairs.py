"""Q&A pairs, their sources and their embeddings in the relational store.

Functions take an open connection so the caller decides the transaction: an ingest batch
writes pairs, sources, embeddings and outbox rows in one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from medkb.models import (
    FILTERABLE_KEYS,
    VECTOR_FIELDS,
    Embeddings,
    QAMetadata,
    QAPair,
    Source,
)
from medkb.stores.relational.schema import document_sources, embeddings, qa, tenants

Filters = Mapping[str, Sequence[str]]


def ensure_tenant(conn: sa.Connection, tenant_id: str, *, now: datetime) -> None:
    """Create the tenant row if it does not exist yet.

    An insert that ignores a conflict, not a select then an insert: two processes writing
    a new tenant's first pairs at once must not clash on the primary key.
    """
    exists = conn.execute(sa.select(tenants.c.id).where(tenants.c.id == tenant_id)).first()
    if exists is None:
        insert_if_absent(conn, tenants, {"id": tenant_id, "name": tenant_id, "created_at": now})


def insert_if_absent(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any]) -> None:
    """Insert a row unless one with its primary key exists (SQLite and PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())


def content_hash(pair: QAPair, model_id: str) -> str:
    """A digest of everything that, when changed, needs a rewrite of the pair.

    A source's object key is left out: re-ingesting an edited file stores a new raw object,
    and the pairs whose text did not change still cite the object they came from.
    """
    payload = json.dumps(
        [
            pair.question,
            pair.response,
            _metadata_row(pair.metadata),
            model_id,
            [_source_identity(source) for source in pair.sources],
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _source_identity(source: Source) -> dict[str, object]:
    return {key: value for key, value in vars(source).items() if key != "object_key"}


def existing_hashes(conn: sa.Connection, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Map id → (tenant_id, content_hash) for the ids already stored."""
    rows = conn.execute(
        sa.select(qa.c.id, qa.c.tenant_id, qa.c.content_hash).where(qa.c.id.in_(ids))
    )
    return {row.id: (row.tenant_id, row.content_hash) for row in rows}


def write_pairs(
    conn: sa.Connection,
    pairs: Sequence[QAPair],
    vectors: Sequence[Embeddings],
    *,
    existing: Iterable[str],
    now: datetime,
) -> None:
    """Insert new pairs and overwrite existing ones, with their sources and embeddings."""
    existing = set(existing)
    new_rows = [_pair_row(p, vectors[i], now) for i, p in enumerate(pairs) if p.id not in existing]
    old_rows = [_pair_row(p, vectors[i], now) for i, p in enumerate(pairs) if p.id in existing]
    if new_rows:
        conn.execute(qa.insert(), new_rows)
    if old_rows:
        for row in old_rows:
            row.pop("created_at")
        conn.execute(
            qa.update().where(qa.c.id == sa.bindparam("b_id")),
            [{"b_id": row["id"], **row} for row in old_rows],
        )
    ids = [pair.id for pair in pairs]
    _replace_sources(conn, pairs, now)
    _replace_embeddings(conn, ids, vectors)


def _metadata_row(meta: QAMetadata) -> dict[str, Any]:
    return {
        "category": meta.category,
        "subcategory": meta.subcategory,
        "source": meta.source,
        "source_type": meta.source_type,
        "author": meta.author,
        "publication_date": meta.published,
        "language": meta.language,
        "difficulty_level": meta.difficulty,
        "tags": list(meta.tags),
        "extra": dict(meta.extra),
        "is_active": meta.is_active,
    }


def _pair_row(pair: QAPair, vectors: Embeddings, now: datetime) -> dict[str, Any]:
    return {
        "id": pair.id,
        "tenant_id": pair.tenant_id,
        "question": pair.question,
        "response": pair.response,
        **_metadata_row(pair.metadata),
        "content_hash": content_hash(pair, vectors.model_id),
        "created_at": now,
        "updated_at": now,
    }


def _replace_sources(conn: sa.Connection, pairs: Sequence[QAPair], now: datetime) -> None:
    conn.execute(
        document_sources.delete().where(document_sources.c.qa_id.in_([p.id for p in pairs]))
    )
    rows = [
        {
            "tenant_id": pair.tenant_id,
            "qa_id": pair.id,
            "document": source.document,
            "object_key": source.object_key,
            "page_number": source.page,
            "section": source.section,
            "excerpt": source.excerpt,
            "url": source.url,
            "created_at": now,
        }
        for pair in pairs
        for source in pair.sources
    ]
    if rows:
        conn.execute(document_sources.insert(), rows)


def _replace_embeddings(
    conn: sa.Connection, ids: Sequence[str], vectors: Sequence[Embeddings]
) -> None:
    conn.execute(embeddings.delete().where(embeddings.c.qa_id.in_(ids)))
    rows = [
        {
            "qa_id": qa_id,
            "field": name,
            "model_id": vec.model_id,
            "dimension": int(vec.get(name).shape[0]),
            "vector": np.asarray(vec.get(name), dtype=np.float32).tobytes(),
        }
        for qa_id, vec in zip(ids, vectors, strict=True)
        for name in VECTOR_FIELDS
    ]
    conn.execute(embeddings.insert(), rows)


def get_pairs(conn: sa.Connection, ids: Sequence[str], *, tenant_id: str) -> dict[str, QAPair]:
    """Load pairs (with sources) by id; ids of other tenants or unknown ids are absent."""
    rows = conn.execute(sa.select(qa).where(qa.c.id.in_(ids), qa.c.tenant_id == tenant_id))
    pairs = {row.id: _pair_from_row(row) for row in rows}
    for source_row in conn.execute(
        sa.select(document_sources)
        .where(document_sources.c.qa_id.in_(list(pairs)))
        .order_by(document_sources.c.id)
    ):
        pairs[source_row.qa_id].sources.append(_source_from_row(source_row))
    return pairs


def _pair_from_row(row: sa.Row[Any]) -> QAPair:
    meta = QAMetadata(
        category=row.category,
        subcategory=row.subcategory,
        source=row.source,
        source_type=row.source_type,
        author=row.author,
        published=row.publication_date,
        language=row.language,
        difficulty=row.difficulty_level,
        tags=list(row.tags or []),
        is_active=bool(row.is_active),
        extra=dict(row.extra or {}),
    )
    return QAPair(
        id=row.id,
        question=row.question,
        response=row.response,
        metadata=meta,
        tenant_id=row.tenant_id,
        created_at=_iso(row.created_at),
        updated_at=_iso(row.updated_at),
    )


def _source_from_row(row: sa.Row[Any]) -> Source:
    return Source(
        document=row.document,
        object_key=row.object_key,
        page=row.page_number,
        section=row.section,
        excerpt=row.excerpt,
        url=row.url,
    )


def _iso(value: datetime | None) -> str | None:
    """UTC without an offset, as SQLite hands it back, so both backends read the same."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()


def get_embeddings(conn: sa.Connection, ids: Sequence[str]) -> dict[str, Embeddings]:
    """Load the stored vectors of ``ids``."""
    found: dict[str, dict[str, Any]] = {}
    for row in conn.execute(sa.select(embeddings).where(embeddings.c.qa_id.in_(ids))):
        entry = found.setdefault(row.qa_id, {"model_id": row.model_id})
        entry[row.field] = np.frombuffer(row.vector, dtype=np.float32).copy()
    return {
        qa_id: Embeddings(
            question=v["question"],
            response=v["response"],
            combined=v["combined"],
            model_id=v["model_id"],
        )
        for qa_id, v in found.items()
        if all(name in v for name in VECTOR_FIELDS)
    }


def delete_pairs(conn: sa.Connection, ids: Sequence[str], *, tenant_id: str) -> list[str]:
    """Delete pairs of ``tenant_id``; sources, embeddings and relations cascade."""
    found = [
        row.id
        for row in conn.execute(
            sa.select(qa.c.id).where(qa.c.id.in_(ids), qa.c.tenant_id == tenant_id)
        )
    ]
    if found:
        conn.execute(qa.delete().where(qa.c.id.in_(found)))
    return found


def filter_clause(filters: Filters | None) -> list[sa.ColumnElement[bool]]:
    """SQL conditions for metadata filters (keys AND, values OR)."""
    clauses: list[sa.ColumnElement[bool]] = []
    for key, values in (filters or {}).items():
        if key not in FILTERABLE_KEYS:
            continue
        clauses.append(qa.c[key].in_(list(values)))
    return clauses


def count_pairs(conn: sa.Connection, *, tenant_id: str) -> int:
    """Number of pairs of ``tenant_id``."""
    query = sa.select(sa.func.count()).select_from(qa).where(qa.c.tenant_id == tenant_id)
    return int(conn.execute(query).scalar_one())


def category_counts(conn: sa.Connection, *, tenant_id: str) -> dict[str, int]:
    """Pairs per category (``None`` as "uncategorised")."""
    rows = conn.execute(
        sa.select(qa.c.category, sa.func.count())
        .where(qa.c.tenant_id == tenant_id)
        .group_by(qa.c.category)
    )
    return {(category or "uncategorised"): int(count) for category, count in rows}


def all_ids(conn: sa.Connection, *, tenant_id: str) -> list[str]:
    """Every pair id of ``tenant_id``, sorted."""
    rows = conn.execute(sa.select(qa.c.id).where(qa.c.tenant_id == tenant_id).order_by(qa.c.id))
    return [row.id for row in rows]


def ids_from_document(
    conn: sa.Connection,
    document: str,
    *,
    source_type: str,
    tenant_id: str,
    object_key: str | None = None,
) -> set[str]:
    """Ids of the pairs parsed from the free document ``document`` (exactly that id).

    ``object_key``: only pairs whose source is that raw object (those bytes).
    """
    query = (
        sa.select(qa.c.id)
        .join(document_sources, document_sources.c.qa_id == qa.c.id)
        .where(
            document_sources.c.document == document,
            qa.c.source_type == source_type,
            qa.c.tenant_id == tenant_id,
        )
    )
    if object_key is not None:
        query = query.where(document_sources.c.object_key == object_key)
    return {row.id for row in conn.execute(query)}
