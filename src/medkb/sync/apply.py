"""Applying the outbox to the vector store: the one mechanism behind every sync strategy.

``realtime`` calls :func:`apply_ids` for the ids a write touched before returning;
``eventual`` and ``batch`` call :func:`drain` from a :class:`~medkb.sync.worker.Worker`.
Each call leases the ids it claims (``stores.relational.leases``), so no two workers apply
one id at once, and reads the current relational state of those ids, so a row applied
twice, late or out of order still leaves the vector store equal to the relational store.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from medkb.errors import VectorStoreError
from medkb.models import VECTOR_FIELDS, Embeddings, QAPair, VectorRecord
from medkb.stores.relational import leases, outbox, pairs, relations
from medkb.stores.relational.schema import qa
from medkb.stores.vector.base import VectorStore
from medkb.stores.vector.fit import NO_LIMITS, CopyLimits, copy_limits, fit_record
from medkb.sync.isolate import write_isolating
from medkb.sync.isolate import write_records as write_records  # where callers find it

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def vector_record(
    pair: QAPair, vectors: Embeddings, related: list[str], *, limits: CopyLimits = NO_LIMITS
) -> VectorRecord:
    """What a vector store with ``limits`` should hold for ``pair`` (its copy, fitted)."""
    meta = pair.metadata.basic()
    if pair.created_at:
        meta["created_at"] = pair.created_at
    record = VectorRecord(
        id=pair.id,
        tenant_id=pair.tenant_id,
        question=pair.question,
        response=pair.response,
        embeddings=vectors,
        metadata=meta,
        related_nodes=related,
    )
    return fit_record(record, limits)


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


def current_records(
    conn: sa.Connection, ids: Collection[str], *, limits: CopyLimits = NO_LIMITS
) -> list[VectorRecord]:
    """Build the vector records of the ids that still exist in the relational store.

    ``limits``: those of the vector store the records are for (its ``copy_limits``).
    """
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
        vector_record(found[qa_id], vectors[qa_id], adjacency.get(qa_id, []), limits=limits)
        for qa_id in ids
        if qa_id in found and qa_id in vectors
    ]


@dataclass(frozen=True)
class Applied:
    """What one claim did: how many ids it applied, and the ids the vector store rejected."""

    applied: int = 0
    #: Rejected ids with the store's reason; they are parked as ``failed`` in ``sync_status``.
    failed: dict[str, str] = field(default_factory=dict)


def apply_outbox(
    engine: sa.Engine,
    store: VectorStore,
    *,
    ids: Collection[str] | None = None,
    limit: int = 1000,
    clock: Clock = utcnow,
    lease_s: float = outbox.DEFAULT_LEASE_S,
    worker: str | None = None,
) -> int:
    """Lease and apply due outbox rows (only those of ``ids`` when given); return ids applied.

    See :func:`apply_claim`, which also returns the ids the vector store rejected.
    """
    found = apply_claim(
        engine, store, ids=ids, limit=limit, clock=clock, lease_s=lease_s, worker=worker
    )
    return found.applied


def apply_claim(
    engine: sa.Engine,
    store: VectorStore,
    *,
    ids: Collection[str] | None = None,
    limit: int = 1000,
    clock: Clock = utcnow,
    lease_s: float = outbox.DEFAULT_LEASE_S,
    worker: str | None = None,
) -> Applied:
    """Lease and apply due outbox rows (only those of ``ids`` when given).

    The claim commits first (its leases keep other workers off these ids), the current
    relational state is read, the vector store written, and the rows completed — all
    within the lease. ``worker`` names the lease owner (default ``host:pid``). A row the
    vector store rejects does not hold up the others (:mod:`medkb.sync.isolate`): they are
    applied, and it is parked as ``failed`` with the store's reason.

    Raises:
        VectorStoreError: the vector store is down; the rows stay in the outbox, backed
            off, and ``sync_status`` records the error.
    """
    with engine.begin() as conn:
        owner = outbox.new_owner(worker)
        batch = outbox.claim(conn, now=clock(), ids=ids, limit=limit, owner=owner, lease_s=lease_s)
    if not batch.ids:
        return Applied()
    records, targets = read_claimed(
        engine, batch, clock=clock, lease_s=lease_s, limits=copy_limits(store)
    )
    try:
        failed = write_isolating(store, records, targets)
    except VectorStoreError as exc:
        with engine.begin() as conn:
            outbox.fail(conn, batch, error=str(exc), now=clock())
        raise
    with engine.begin() as conn:
        checksums = {r.id: record_checksum(r) for r in records if r.id not in failed}
        done = replace(batch, ids=[qa_id for qa_id in batch.ids if qa_id not in failed])
        outbox.complete(conn, done, checksums=checksums, now=clock())
        if failed:
            outbox.reject(conn, replace(batch, ids=sorted(failed)), errors=failed, now=clock())
    return Applied(applied=len(batch.ids) - len(failed), failed=failed)


def read_claimed(
    engine: sa.Engine,
    batch: outbox.OutboxBatch,
    *,
    clock: Clock,
    lease_s: float,
    limits: CopyLimits = NO_LIMITS,
) -> tuple[list[VectorRecord], list[str]]:
    """The current records of a claimed batch, and the ids to write.

    A read that took over half the lease renews it first and drops the ids it lost, so a
    slow worker does not write ids another worker has taken over.
    """
    started = time.monotonic()
    with engine.connect() as conn:
        records = current_records(conn, batch.ids, limits=limits)
    if batch.owner is None or time.monotonic() - started <= lease_s / 2:
        return records, list(batch.ids)
    with engine.begin() as conn:
        kept = set(leases.renew(conn, batch.owner, until=clock() + timedelta(seconds=lease_s)))
    return [r for r in records if r.id in kept], [i for i in batch.ids if i in kept]


def drain(
    engine: sa.Engine,
    store: VectorStore,
    *,
    clock: Clock = utcnow,
    max_rounds: int = 1000,
    limit: int = 1000,
    lease_s: float = outbox.DEFAULT_LEASE_S,
    worker: str | None = None,
) -> int:
    """Apply due outbox rows until none is left (or ``max_rounds`` batches); return ids applied.

    The bound keeps a caller from spinning forever while other processes keep writing.
    Ids another worker holds are skipped; that worker applies them. Ids the vector store
    rejects are parked as ``failed`` and the drain goes on past them.
    """
    total = 0
    for _ in range(max_rounds):
        found = apply_claim(engine, store, clock=clock, limit=limit, lease_s=lease_s, worker=worker)
        if not found.applied and not found.failed:
            break
        total += found.applied
    return total


@dataclass(frozen=True)
class Leftover:
    """The ids :func:`apply_ids` could not apply."""

    #: Ids still waiting, each with the lease owner holding it ("" when none does).
    held: dict[str, str] = field(default_factory=dict)
    #: Ids the vector store rejected, with its reason (parked as ``failed``).
    failed: dict[str, str] = field(default_factory=dict)


def apply_ids(
    engine: sa.Engine,
    store: VectorStore,
    ids: Collection[str],
    *,
    clock: Clock = utcnow,
    wait_s: float = outbox.DEFAULT_LEASE_S,
    poll_s: float = 0.05,
) -> Leftover:
    """Apply the due rows of ``ids`` now, waiting up to ``wait_s`` for ids a worker holds.

    A worker's lease lasts at most its lease time, so waiting that long normally ends with
    every id applied here or by the worker. Returns the ids still held by a worker and
    those the vector store rejected.

    Raises:
        VectorStoreError: the vector store is down; the rows stay in the outbox.
    """
    deadline, remaining = time.monotonic() + wait_s, sorted(set(ids))
    failed: dict[str, str] = {}
    while remaining:
        found = apply_claim(engine, store, ids=remaining, clock=clock)
        failed.update(found.failed)
        with engine.connect() as conn:
            remaining = outbox.due_ids(conn, remaining, now=clock())
        remaining = [qa_id for qa_id in remaining if qa_id not in failed]
        if not remaining or time.monotonic() >= deadline:
            break
        if not found.applied and not found.failed:
            time.sleep(poll_s)
    with engine.connect() as conn:
        owners = leases.holders(conn, remaining, now=clock()) if remaining else {}
    return Leftover(held={qa_id: owners.get(qa_id, "") for qa_id in remaining}, failed=failed)
