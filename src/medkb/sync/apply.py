"""Applying the outbox to the vector store: the one mechanism behind every sync strategy.

``realtime`` calls :func:`apply_outbox` for the ids a write touched before returning;
``eventual`` and ``batch`` (their own issue) call it from a worker on a timer. Each call
reads the current relational state of the claimed ids, so a row applied twice, late or
out of order still leaves the vector store equal to the relational store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from datetime import UTC, datetime

import sqlalchemy as sa

from medkb.errors import VectorStoreError
from medkb.models import VECTOR_FIELDS, Embeddings, QAPair, VectorRecord
from medkb.stores.relational import outbox, pairs, relations
from medkb.stores.relational.schema import qa
from medkb.stores.vector.base import VectorStore

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def vector_record(pair: QAPair, vectors: Embeddings, related: list[str]) -> VectorRecord:
    """What the vector store should hold for ``pair``."""
    meta = pair.metadata.basic()
    if pair.created_at:
        meta["created_at"] = pair.created_at
    return VectorRecord(
        id=pair.id,
        tenant_id=pair.tenant_id,
        question=pair.question,
        response=pair.response,
        embeddings=vectors,
        metadata=meta,
        related_nodes=related,
    )


def record_checksum(record: VectorRecord) -> str:
    """A digest of a vector record's content, to compare both stores id by id."""
    digest = hashlib.sha256()
    for part in (record.id, record.tenant_id, record.question, record.response):
        digest.update(part.encode())
        digest.update(b"\x1f")
    for key in sorted(record.metadata):
        digest.update(f"{key}={record.metadata[key]}\x1f".encode())
    digest.update(",".join(record.related_nodes).encode())
    for name in VECTOR_FIELDS:
        digest.update(record.embeddings.get(name).astype("float32").round(5).tobytes())
    return digest.hexdigest()


def related_nodes(conn: sa.Connection, ids: Collection[str]) -> dict[str, list[str]]:
    """The graph adjacency the vector store keeps: distinct targets, strongest first."""
    found = relations.outgoing(conn, list(ids))
    return {
        qa_id: list(dict.fromkeys(rel.target_id for rel in rels)) for qa_id, rels in found.items()
    }


def current_records(conn: sa.Connection, ids: Collection[str]) -> list[VectorRecord]:
    """Build the vector records of the ids that still exist in the relational store."""
    ids = list(ids)
    query = sa.select(qa.c.id, qa.c.tenant_id).where(qa.c.id.in_(ids))
    tenants: dict[str, str] = {row.id: row.tenant_id for row in conn.execute(query)}
    found: dict[str, QAPair] = {}
    for tenant in set(tenants.values()):
        found.update(
            pairs.get_pairs(conn, [i for i in ids if tenants.get(i) == tenant], tenant_id=tenant)
        )
    vectors = pairs.get_embeddings(conn, list(found))
    adjacency = related_nodes(conn, list(found))
    return [
        vector_record(found[qa_id], vectors[qa_id], adjacency.get(qa_id, []))
        for qa_id in ids
        if qa_id in found and qa_id in vectors
    ]


def apply_outbox(
    engine: sa.Engine,
    store: VectorStore,
    *,
    ids: Collection[str] | None = None,
    limit: int = 1000,
    clock: Clock = utcnow,
) -> int:
    """Apply due outbox rows (only those of ``ids`` when given); return ids applied.

    Raises:
        VectorStoreError: the vector store failed; the rows stay in the outbox, backed off,
            and ``sync_status`` records the error.
    """
    with engine.begin() as conn:
        batch = outbox.claim(conn, now=clock(), ids=ids, limit=limit)
        if not batch.ids:
            return 0
        records = current_records(conn, batch.ids)
    present = {record.id for record in records}
    try:
        if records:
            store.upsert(records)
        gone = [qa_id for qa_id in batch.ids if qa_id not in present]
        if gone:
            store.delete(gone)
    except VectorStoreError as exc:
        with engine.begin() as conn:
            outbox.fail(conn, batch, error=str(exc), now=clock())
        raise
    with engine.begin() as conn:
        checksums = {record.id: record_checksum(record) for record in records}
        outbox.complete(conn, batch, checksums=checksums, now=clock())
    return len(batch.ids)


def drain(
    engine: sa.Engine, store: VectorStore, *, clock: Clock = utcnow, max_rounds: int = 1000
) -> int:
    """Apply due outbox rows until none is left (or ``max_rounds`` batches); return ids applied.

    The bound keeps a caller from spinning forever while other processes keep writing.
    """
    total = 0
    for _ in range(max_rounds):
        applied = apply_outbox(engine, store, clock=clock)
        if not applied:
            break
        total += applied
    return total
