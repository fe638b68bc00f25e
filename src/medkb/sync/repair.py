"""Bringing the vector store back to the relational store: ``medkb sync repair``.

The relational store is the system of record and holds every embedding, so the vector
store can always be repaired without re-embedding:

1. :func:`apply_pending` applies every outbox row now, backed-off ones included;
2. :func:`~medkb.sync.verify.verify` finds what still differs (missing, extra, stale);
3. :func:`reapply` makes the vector store match the relational store for exactly those
   ids — or, with ``rebuild``, :func:`rebuild` deletes every record of the tenant and
   writes them all again from the stored embeddings;
4. a second verify proves the result, and ``sync_status`` records each id as synced.

An id the vector store rejects does not stop a repair: it is parked as ``failed`` with
the store's reason, the repair goes on past it, and :attr:`RepairReport.failed` lists it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from medkb.errors import SyncPending
from medkb.stores.relational import outbox, pairs
from medkb.stores.vector.base import VectorStore
from medkb.sync.apply import Clock, apply_ids, drain, utcnow
from medkb.sync.verify import BATCH_SIZE, VerifyReport, batches, verify


@dataclass(frozen=True)
class RepairReport:
    """What a repair did, and how the stores compared before and after it."""

    applied: int  # ids applied from the outbox first
    upserted: int
    deleted: int
    rebuilt: bool
    before: VerifyReport
    after: VerifyReport
    #: Ids the vector store rejected during the repair, with its reason.
    failed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, with both verify reports in full."""
        return {
            "applied": self.applied,
            "upserted": self.upserted,
            "deleted": self.deleted,
            "rebuilt": self.rebuilt,
            "failed": [{"id": i, "last_error": e} for i, e in sorted(self.failed.items())],
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }


@dataclass
class Reapplied:
    """What :func:`reapply` did: ids upserted and deleted, and ids the store rejected."""

    upserted: int = 0
    deleted: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def apply_pending(engine: sa.Engine, store: VectorStore, *, clock: Clock = utcnow) -> int:
    """Apply every outbox row now, ignoring retry back-off; return the ids applied.

    Raises:
        VectorStoreError: the vector store is still failing; the rows stay in the outbox.
    """
    with engine.begin() as conn:
        outbox.release(conn, now=clock())
    return drain(engine, store, clock=clock)


def reapply(
    engine: sa.Engine,
    store: VectorStore,
    ids: Sequence[str],
    *,
    tenant_id: str,
    batch_size: int = BATCH_SIZE,
    clock: Clock = utcnow,
) -> tuple[int, int]:
    """:func:`reapply_ids`, returning (upserted, deleted); rejected ids stay ``failed``."""
    done = reapply_ids(engine, store, ids, tenant_id=tenant_id, batch_size=batch_size, clock=clock)
    return done.upserted, done.deleted


def reapply_ids(
    engine: sa.Engine,
    store: VectorStore,
    ids: Sequence[str],
    *,
    tenant_id: str,
    batch_size: int = BATCH_SIZE,
    clock: Clock = utcnow,
) -> Reapplied:
    """Make the vector store match the relational store for ``ids``.

    The ids go through the outbox like any write (enqueue, lease, apply), so a repair
    running beside ``medkb worker`` processes never writes an id a worker holds: it waits
    for the worker's lease instead. Each id is read again when applied, so an id written
    since it was found drifting is upserted as it is now rather than deleted. An id the
    vector store rejects is parked as ``failed`` and reported; the others go on.

    Raises:
        SyncPending: some ids were still leased by a worker when the wait ended; that
            worker (or the next repair) applies them.
    """
    done = Reapplied()
    for chunk in batches(ids, batch_size):
        with engine.begin() as conn:
            outbox.enqueue(conn, chunk, tenant_id=tenant_id, op="repair", now=clock())
            present = set(pairs.existing_hashes(conn, chunk))
        left = apply_ids(engine, store, chunk, clock=clock)
        if left.held:
            raise SyncPending(
                f"{len(left.held)} ids are held by another sync worker "
                f"({', '.join(sorted(set(left.held.values()) - {''})) or 'unknown'}); they stay "
                "in the outbox for it. Run 'medkb sync repair' again once it is done.",
                pending_ids=sorted(left.held),
            )
        done.failed.update(left.failed)
        done.upserted += len(present - set(left.failed))
        done.deleted += len(set(chunk) - present - set(left.failed))
    return done


def rebuild(
    engine: sa.Engine,
    store: VectorStore,
    *,
    tenant_id: str,
    batch_size: int = BATCH_SIZE,
    clock: Clock = utcnow,
) -> tuple[int, int]:
    """:func:`rebuild_all_ids`, returning (upserted, deleted); rejected ids stay ``failed``."""
    done = rebuild_all_ids(engine, store, tenant_id=tenant_id, batch_size=batch_size, clock=clock)
    return done.upserted, done.deleted


def rebuild_all_ids(
    engine: sa.Engine,
    store: VectorStore,
    *,
    tenant_id: str,
    batch_size: int = BATCH_SIZE,
    clock: Clock = utcnow,
) -> Reapplied:
    """Delete every vector record of ``tenant_id`` and write them all again from the
    stored embeddings (nothing is re-embedded).

    Dense search finds fewer records until the rebuild ends; keyword search is unaffected.
    Writes made meanwhile are safe: each id is re-read from the relational store.
    """
    deleted = 0
    for chunk in batches(list(store.ids(tenant_id)), batch_size):
        store.delete(chunk)
        deleted += len(chunk)
    with engine.connect() as conn:
        ids = pairs.all_ids(conn, tenant_id=tenant_id)
    done = reapply_ids(engine, store, ids, tenant_id=tenant_id, batch_size=batch_size, clock=clock)
    return Reapplied(upserted=done.upserted, deleted=deleted, failed=done.failed)


def repair(
    engine: sa.Engine,
    store: VectorStore,
    *,
    tenant_id: str,
    rebuild_all: bool = False,
    batch_size: int = BATCH_SIZE,
    clock: Clock = utcnow,
) -> RepairReport:
    """Apply the outbox, fix what still drifts (or rebuild everything), verify again.

    Raises:
        VectorStoreError: the vector store failed; run the repair again once it is back.
    """
    applied = apply_pending(engine, store, clock=clock)
    before = verify(engine, store, tenant_id=tenant_id, batch_size=batch_size)
    if rebuild_all:
        done = rebuild_all_ids(
            engine, store, tenant_id=tenant_id, batch_size=batch_size, clock=clock
        )
    else:
        drifted = [*before.missing, *before.stale, *before.extra]
        done = reapply_ids(
            engine, store, drifted, tenant_id=tenant_id, batch_size=batch_size, clock=clock
        )
    after = verify(engine, store, tenant_id=tenant_id, batch_size=batch_size)
    return RepairReport(
        applied=applied,
        upserted=done.upserted,
        deleted=done.deleted,
        rebuilt=rebuild_all,
        before=before,
        after=after,
        failed=done.failed,
    )
