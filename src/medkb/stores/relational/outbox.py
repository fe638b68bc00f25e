"""The outbox and ``sync_status`` tables: what the vector store still has to learn.

An outbox row only names a pair id. Applying it means "make the vector store match the
relational store for this id" — upsert when the pair exists, delete when it does not — so
applying is idempotent, order-independent, and cannot resurrect a deleted pair.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from medkb.stores.relational.schema import outbox, sync_status

VECTOR_STORE = "vector"


@dataclass(frozen=True)
class OutboxBatch:
    """Outbox rows read together: the ids to apply and the highest row id covered."""

    ids: list[str]
    max_row_id: int


def enqueue(
    conn: sa.Connection, ids: Collection[str], *, tenant_id: str, op: str, now: datetime
) -> None:
    """Record that ``ids`` changed, in the caller's transaction."""
    if not ids:
        return
    conn.execute(
        outbox.insert(),
        [
            {
                "tenant_id": tenant_id,
                "qa_id": qa_id,
                "op": op,
                "attempts": 0,
                "available_at": now,
                "created_at": now,
            }
            for qa_id in sorted(ids)
        ],
    )
    _mark(conn, ids, tenant_id=tenant_id, state="pending", now=now)


def _mark(
    conn: sa.Connection, ids: Collection[str], *, tenant_id: str, state: str, now: datetime
) -> None:
    conn.execute(
        sync_status.update()
        .where(sync_status.c.qa_id.in_(list(ids)), sync_status.c.store == VECTOR_STORE)
        .values(state=state, updated_at=now)
    )
    known = {
        row.qa_id
        for row in conn.execute(
            sa.select(sync_status.c.qa_id).where(
                sync_status.c.qa_id.in_(list(ids)), sync_status.c.store == VECTOR_STORE
            )
        )
    }
    fresh = [
        {
            "qa_id": qa_id,
            "store": VECTOR_STORE,
            "tenant_id": tenant_id,
            "state": state,
            "attempts": 0,
            "updated_at": now,
        }
        for qa_id in sorted(set(ids) - known)
    ]
    if fresh:
        conn.execute(sync_status.insert(), fresh)


def claim(
    conn: sa.Connection, *, now: datetime, ids: Collection[str] | None = None, limit: int = 1000
) -> OutboxBatch:
    """Read the due outbox rows (only those for ``ids`` when given), oldest first."""
    query = sa.select(outbox.c.id, outbox.c.qa_id).where(outbox.c.available_at <= now)
    if ids is not None:
        query = query.where(outbox.c.qa_id.in_(list(ids)))
    rows = conn.execute(query.order_by(outbox.c.id).limit(limit)).all()
    unique = list(dict.fromkeys(row.qa_id for row in rows))
    return OutboxBatch(ids=unique, max_row_id=max((row.id for row in rows), default=0))


def complete(
    conn: sa.Connection,
    batch: OutboxBatch,
    *,
    checksums: dict[str, str],
    now: datetime,
) -> None:
    """Drop the applied rows and record each id as synced (or forget a deleted one)."""
    conn.execute(
        outbox.delete().where(outbox.c.qa_id.in_(batch.ids), outbox.c.id <= batch.max_row_id)
    )
    gone = [qa_id for qa_id in batch.ids if qa_id not in checksums]
    if gone:
        conn.execute(sync_status.delete().where(sync_status.c.qa_id.in_(gone)))
    if checksums:
        conn.execute(
            sync_status.update()
            .where(sync_status.c.qa_id == sa.bindparam("b_id"), sync_status.c.store == VECTOR_STORE)
            .values(
                state="synced",
                checksum=sa.bindparam("b_sum"),
                attempts=0,
                last_error=None,
                synced_at=now,
                updated_at=now,
            ),
            [{"b_id": qa_id, "b_sum": digest} for qa_id, digest in checksums.items()],
        )


def fail(
    conn: sa.Connection, batch: OutboxBatch, *, error: str, now: datetime, max_attempts: int = 8
) -> None:
    """Back the rows off exponentially; park ids as ``failed`` after ``max_attempts``."""
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.attempts).where(
            outbox.c.qa_id.in_(batch.ids), outbox.c.id <= batch.max_row_id
        )
    ).all()
    for row in rows:
        attempts = row.attempts + 1
        delay = timedelta(seconds=min(2**attempts, 300))
        conn.execute(
            outbox.update()
            .where(outbox.c.id == row.id)
            .values(attempts=attempts, last_error=error[:2000], available_at=now + delay)
        )
    state = "failed" if rows and max(r.attempts for r in rows) + 1 >= max_attempts else "pending"
    conn.execute(
        sync_status.update()
        .where(sync_status.c.qa_id.in_(batch.ids), sync_status.c.store == VECTOR_STORE)
        .values(
            state=state,
            attempts=sync_status.c.attempts + 1,
            last_error=error[:2000],
            updated_at=now,
        )
    )


def pending_count(conn: sa.Connection) -> int:
    """Outbox rows not yet applied."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one())


def state_counts(conn: sa.Connection, *, tenant_id: str) -> dict[str, int]:
    """Pairs per sync state in the vector store."""
    rows = conn.execute(
        sa.select(sync_status.c.state, sa.func.count())
        .where(sync_status.c.tenant_id == tenant_id, sync_status.c.store == VECTOR_STORE)
        .group_by(sync_status.c.state)
    )
    return {state: int(count) for state, count in rows}


def ids_with_rows(conn: sa.Connection, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` still have outbox rows."""
    rows = conn.execute(sa.select(outbox.c.qa_id).where(outbox.c.qa_id.in_(list(ids))))
    return {row.qa_id for row in rows}


def sync_state(conn: sa.Connection, qa_id: str) -> dict[str, object] | None:
    """The vector-store sync record of one pair."""
    row = conn.execute(
        sa.select(sync_status).where(
            sync_status.c.qa_id == qa_id, sync_status.c.store == VECTOR_STORE
        )
    ).first()
    if row is None:
        return None
    return {
        "state": row.state,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "synced_at": row.synced_at.isoformat() if row.synced_at else None,
    }


def rows_of_tenant(conn: sa.Connection, *, tenant_id: str) -> int:
    """Outbox rows of ``tenant_id`` not yet applied."""
    query = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.tenant_id == tenant_id)
    return int(conn.execute(query).scalar_one())


def oldest_created(conn: sa.Connection, *, tenant_id: str) -> datetime | None:
    """When the oldest outbox row of ``tenant_id`` was written; ``None`` when none waits."""
    query = sa.select(sa.func.min(outbox.c.created_at)).where(outbox.c.tenant_id == tenant_id)
    found: datetime | None = conn.execute(query).scalar_one()
    return found


def release(conn: sa.Connection, *, now: datetime) -> int:
    """Make every backed-off row due at ``now`` (an operator asked to apply them now)."""
    done = conn.execute(outbox.update().where(outbox.c.available_at > now).values(available_at=now))
    return int(done.rowcount)


def record_synced(
    conn: sa.Connection, checksums: Mapping[str, str], *, tenant_id: str, now: datetime
) -> None:
    """Record ids as synced with their checksums, creating missing ``sync_status`` rows."""
    if not checksums:
        return
    _mark(conn, list(checksums), tenant_id=tenant_id, state="synced", now=now)
    conn.execute(
        sync_status.update()
        .where(sync_status.c.qa_id == sa.bindparam("b_id"), sync_status.c.store == VECTOR_STORE)
        .values(
            checksum=sa.bindparam("b_sum"),
            attempts=0,
            last_error=None,
            synced_at=now,
        ),
        [{"b_id": qa_id, "b_sum": digest} for qa_id, digest in checksums.items()],
    )


def forget(conn: sa.Connection, ids: Collection[str], *, tenant_id: str) -> None:
    """Drop the ``sync_status`` rows of ids the relational store no longer has."""
    if ids:
        conn.execute(
            sync_status.delete().where(
                sync_status.c.qa_id.in_(list(ids)), sync_status.c.tenant_id == tenant_id
            )
        )


def failed_ids(conn: sa.Connection, *, tenant_id: str, limit: int = 20) -> list[dict[str, object]]:
    """The ids parked as ``failed`` (most attempts first), with their last error."""
    rows = conn.execute(
        sa.select(sync_status.c.qa_id, sync_status.c.attempts, sync_status.c.last_error)
        .where(
            sync_status.c.tenant_id == tenant_id,
            sync_status.c.store == VECTOR_STORE,
            sync_status.c.state == "failed",
        )
        .order_by(sync_status.c.attempts.desc(), sync_status.c.qa_id)
        .limit(limit)
    )
    return [
        {"id": row.qa_id, "attempts": row.attempts, "last_error": row.last_error} for row in rows
    ]
