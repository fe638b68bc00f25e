"""Proving that both stores agree: ``medkb sync status`` and ``medkb sync verify``.

:func:`verify` reads one tenant's pairs from the relational store (the system of record)
and the records the vector store holds, reduces each side to ``{id: checksum}`` with
:func:`~medkb.sync.apply.record_checksum`, and hands both maps to :func:`compare`, a pure
function. Records are read in batches and only their checksums are kept, so memory stays
bounded by the number of ids, not by the size of their embeddings.

Drift is reported id by id:

* ``missing``: in the relational store, absent from the vector store;
* ``extra``: in the vector store, absent from the relational store (an orphan);
* ``stale``: in both, but the vector record differs from what the relational store says.

Drift is expected while outbox rows are pending (``eventual``/``batch`` strategies, or a
vector store that was down); ``medkb sync repair`` applies them and fixes the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa

from medkb.stores.relational import outbox, pairs
from medkb.stores.vector.base import VectorStore
from medkb.stores.vector.fit import NO_LIMITS, CopyLimits, copy_limits
from medkb.sync.apply import Clock, current_records, record_checksum, utcnow

#: Records read per round trip: bounds memory (each record carries three embeddings).
BATCH_SIZE = 500


@dataclass(frozen=True)
class VerifyReport:
    """How one tenant's vector store compares with its relational store."""

    tenant_id: str
    relational_count: int
    vector_count: int
    missing: list[str]
    extra: list[str]
    stale: list[str]
    #: Outbox rows still waiting; drift is expected while this is non-zero.
    outbox_pending: int = 0

    @property
    def drift(self) -> int:
        """Number of ids on which the stores disagree."""
        return len(self.missing) + len(self.extra) + len(self.stale)

    @property
    def clean(self) -> bool:
        """Whether the vector store holds exactly what the relational store says."""
        return self.drift == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, with the drift total and the verdict."""
        return {**asdict(self), "drift": self.drift, "clean": self.clean}


@dataclass(frozen=True)
class SyncStatus:
    """The outbox and ``sync_status`` counters of one tenant."""

    tenant_id: str
    pending: int
    failed: int
    synced: int
    outbox_rows: int
    #: Seconds since the oldest outbox row was written; ``None`` when the outbox is empty.
    oldest_pending_age_s: float | None
    #: Up to 20 ids parked as failed: ``{"id", "attempts", "last_error"}``.
    failed_ids: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return asdict(self)


def compare(
    relational: Mapping[str, str],
    vector: Mapping[str, str],
    *,
    tenant_id: str,
    outbox_pending: int = 0,
) -> VerifyReport:
    """Compare ``{id: checksum}`` maps of both stores; ids come back sorted.

    Args:
        relational: what the vector store should hold, from the relational store.
        vector: what the vector store does hold.
        tenant_id: the tenant both maps belong to.
        outbox_pending: outbox rows still waiting, reported alongside.
    """
    return VerifyReport(
        tenant_id=tenant_id,
        relational_count=len(relational),
        vector_count=len(vector),
        missing=sorted(relational.keys() - vector.keys()),
        extra=sorted(vector.keys() - relational.keys()),
        stale=sorted(i for i in relational.keys() & vector.keys() if relational[i] != vector[i]),
        outbox_pending=outbox_pending,
    )


def batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Consecutive lists of at most ``size`` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def relational_checksums(
    engine: sa.Engine,
    *,
    tenant_id: str,
    batch_size: int = BATCH_SIZE,
    limits: CopyLimits = NO_LIMITS,
) -> dict[str, str]:
    """``{id: checksum}`` of the vector records the relational store implies.

    ``limits``: the vector store's ``copy_limits``, so a copy it cuts compares equal.
    """
    found: dict[str, str] = {}
    with engine.connect() as conn:
        ids = pairs.all_ids(conn, tenant_id=tenant_id)
        for chunk in batches(ids, batch_size):
            records = current_records(conn, chunk, limits=limits)
            found.update((r.id, record_checksum(r)) for r in records)
    return found


def vector_checksums(
    store: VectorStore, *, tenant_id: str, batch_size: int = BATCH_SIZE
) -> dict[str, str]:
    """``{id: checksum}`` of the records the vector store holds for ``tenant_id``."""
    found: dict[str, str] = {}
    for chunk in batches(store.ids(tenant_id), batch_size):
        found.update((r.id, record_checksum(r)) for r in store.fetch(chunk))
    return found


def verify(
    engine: sa.Engine, store: VectorStore, *, tenant_id: str, batch_size: int = BATCH_SIZE
) -> VerifyReport:
    """Compare both stores for ``tenant_id``, id by id and checksum by checksum.

    Raises:
        VectorStoreError: the vector store could not be read.
    """
    with engine.connect() as conn:
        waiting = outbox.rows_of_tenant(conn, tenant_id=tenant_id)
    return compare(
        relational_checksums(
            engine, tenant_id=tenant_id, batch_size=batch_size, limits=copy_limits(store)
        ),
        vector_checksums(store, tenant_id=tenant_id, batch_size=batch_size),
        tenant_id=tenant_id,
        outbox_pending=waiting,
    )


def status(engine: sa.Engine, *, tenant_id: str, clock: Clock = utcnow) -> SyncStatus:
    """The sync counters of ``tenant_id``: states, outbox rows, oldest pending age."""
    with engine.connect() as conn:
        states = outbox.state_counts(conn, tenant_id=tenant_id)
        rows = outbox.rows_of_tenant(conn, tenant_id=tenant_id)
        oldest = outbox.oldest_created(conn, tenant_id=tenant_id)
        failed = outbox.failed_ids(conn, tenant_id=tenant_id)
    return SyncStatus(
        tenant_id=tenant_id,
        pending=states.get("pending", 0),
        failed=states.get("failed", 0),
        synced=states.get("synced", 0),
        outbox_rows=rows,
        oldest_pending_age_s=None if oldest is None else age_seconds(oldest, clock()),
        failed_ids=failed,
    )


def age_seconds(then: datetime, now: datetime) -> float:
    """Seconds from ``then`` to ``now``; a naive ``then`` (SQLite) is read as UTC."""
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return round(max((now - then).total_seconds(), 0.0), 3)
