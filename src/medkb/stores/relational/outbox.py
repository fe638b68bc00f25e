"""The outbox and ``sync_status`` tables: what the vector store still has to learn.

An outbox row only names a pair id. Applying it means "make the vector store match the
relational store for this id" — upsert when the pair exists, delete when it does not — so
applying is idempotent, order-independent, and cannot resurrect a deleted pair.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from medkb.stores.relational import leases
from medkb.stores.relational.leases import VECTOR_STORE, new_owner
from medkb.stores.relational.schema import outbox, sync_status

__all__ = [
    "VECTOR_STORE",
    "OutboxBatch",
    "claim",
    "complete",
    "enqueue",
    "fail",
    "new_owner",
    "reject",
]

#: How long a claim holds its ids when the caller does not say.
DEFAULT_LEASE_S = 30.0
#: Longest wait before a row the vector store rejected is tried again on its own. An
#: update of the pair queues a fresh row at once, and ``medkb sync repair`` retries now.
MAX_PARK_S = 3600.0


@dataclass(frozen=True)
class OutboxBatch:
    """Outbox rows claimed together: the ids to apply and exactly which rows cover them.

    ``owner`` is the lease token the ids are held under (``None``: read without a lease);
    ``tenants`` maps each id to its tenant, to re-queue an id whose lease was lost.
    """

    ids: list[str]
    max_row_id: int
    row_ids: tuple[int, ...] = ()
    owner: str | None = None
    tenants: Mapping[str, str] = field(default_factory=dict)


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
    """Set the state of ``ids``, creating missing rows; one upsert, in id order.

    An upsert rather than read-then-insert, so concurrent writers touching one neighbour
    never collide on the primary key; sorted, so they lock rows in one order. A lease
    held on the id is left alone: its holder still finishes (or re-queues) its rows.
    """
    rows = [
        {"qa_id": qa_id, "store": VECTOR_STORE, "tenant_id": tenant_id, "state": state}
        | {"attempts": 0, "updated_at": now}
        for qa_id in sorted(set(ids))
    ]
    insert = leases.upsert_statement(conn, sync_status)
    upsert = insert.on_conflict_do_update(
        index_elements=[sync_status.c.qa_id, sync_status.c.store],
        set_={"state": insert.excluded.state, "updated_at": insert.excluded.updated_at},
    )
    conn.execute(upsert, rows)


def claim(
    conn: sa.Connection,
    *,
    now: datetime,
    ids: Collection[str] | None = None,
    limit: int = 1000,
    owner: str | None = None,
    lease_s: float = DEFAULT_LEASE_S,
) -> OutboxBatch:
    """Lease the ids of the oldest due outbox rows (of ``ids`` when given) and read their rows.

    Only ids no other worker holds are taken, so no two claims apply one id at once. The
    batch covers every outbox row of the leased ids visible now, due or backed off: the
    apply reads each id's current state, which satisfies them all.
    """
    owner = owner or new_owner()
    leases.heal(conn, now=now, ids=ids, limit=limit)
    until = now + timedelta(seconds=lease_s)
    leases.take(conn, owner=owner, now=now, until=until, ids=ids, limit=limit)
    held = leases.held_ids(conn, owner)
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.qa_id, outbox.c.tenant_id)
        .where(outbox.c.qa_id.in_(held))
        .order_by(outbox.c.id)
    ).all()
    ordered = list(dict.fromkeys([*(row.qa_id for row in rows), *held]))
    return OutboxBatch(
        ids=ordered,
        max_row_id=max((row.id for row in rows), default=0),
        row_ids=tuple(row.id for row in rows),
        owner=owner,
        tenants={row.qa_id: row.tenant_id for row in rows},
    )


def _covered_rows(batch: OutboxBatch, held: Collection[str]) -> sa.ColumnElement[bool]:
    """The outbox rows ``batch`` read for the ids it still holds (never a later row)."""
    if batch.row_ids:
        return sa.and_(outbox.c.id.in_(batch.row_ids), outbox.c.qa_id.in_(list(held)))
    return sa.and_(outbox.c.qa_id.in_(list(held)), outbox.c.id <= batch.max_row_id)


def _release(held: Collection[str], owner: str | None) -> sa.ColumnElement[bool]:
    """The held ``sync_status`` rows (all of ``held`` when there is no lease)."""
    mine = sa.and_(sync_status.c.qa_id.in_(list(held)), sync_status.c.store == VECTOR_STORE)
    return mine if owner is None else sa.and_(mine, sync_status.c.lease_owner == owner)


def _requeue_lost(conn: sa.Connection, batch: OutboxBatch, held: set[str], now: datetime) -> None:
    """Queue the ids whose lease expired mid-apply once more.

    Another worker may have applied a newer version meanwhile, and this worker's write may
    have landed after it; a fresh row makes someone re-read the current state afterwards.
    """
    for qa_id in sorted(set(batch.ids) - held):
        tenant = batch.tenants.get(qa_id)
        if tenant is not None:
            enqueue(conn, [qa_id], tenant_id=tenant, op="upsert", now=now)


def complete(
    conn: sa.Connection,
    batch: OutboxBatch,
    *,
    checksums: dict[str, str],
    now: datetime,
) -> None:
    """Drop the applied rows, record each id as synced (or forget a deleted one), release.

    Rows written after the claim stay, and their id stays ``pending``; ids whose lease was
    lost are queued again rather than recorded.
    """
    held = leases.lock_held(conn, batch.owner, batch.ids)
    conn.execute(outbox.delete().where(_covered_rows(batch, held)))
    waiting = ids_with_rows(conn, sorted(held))
    done = sorted(held - set(checksums) - waiting)
    if done:
        conn.execute(sync_status.delete().where(_release(done, batch.owner)))
    leftover = sorted(held - set(checksums) - set(done))
    if leftover:
        conn.execute(
            sync_status.update()
            .where(_release(leftover, batch.owner))
            .values(state="pending", lease_owner=None, lease_until=None, updated_at=now)
        )
    synced = [(qa_id, digest) for qa_id, digest in sorted(checksums.items()) if qa_id in held]
    if synced:
        _record_applied(conn, synced, waiting=waiting, owner=batch.owner, now=now)
    _requeue_lost(conn, batch, held, now)


def _record_applied(
    conn: sa.Connection,
    synced: list[tuple[str, str]],
    *,
    waiting: set[str],
    owner: str | None,
    now: datetime,
) -> None:
    lease = sa.true() if owner is None else sync_status.c.lease_owner == owner
    conn.execute(
        sync_status.update()
        .where(
            sync_status.c.qa_id == sa.bindparam("b_id"),
            sync_status.c.store == VECTOR_STORE,
            lease,
        )
        .values(
            state=sa.bindparam("b_state"),
            checksum=sa.bindparam("b_sum"),
            attempts=0,
            last_error=None,
            synced_at=now,
            updated_at=now,
            lease_owner=None,
            lease_until=None,
        ),
        [
            {"b_id": qa_id, "b_sum": digest, "b_state": "pending" if qa_id in waiting else "synced"}
            for qa_id, digest in synced
        ],
    )


def fail(
    conn: sa.Connection, batch: OutboxBatch, *, error: str, now: datetime, max_attempts: int = 8
) -> None:
    """Back the rows off exponentially; park ids as ``failed`` after ``max_attempts``."""
    held = leases.lock_held(conn, batch.owner, batch.ids)
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.attempts).where(_covered_rows(batch, held))
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
    if held:
        conn.execute(
            sync_status.update()
            .where(_release(sorted(held), batch.owner))
            .values(
                state=state,
                attempts=sync_status.c.attempts + 1,
                last_error=error[:2000],
                updated_at=now,
                lease_owner=None,
                lease_until=None,
            )
        )
    _requeue_lost(conn, batch, held, now)


def reject(
    conn: sa.Connection, batch: OutboxBatch, *, errors: Mapping[str, str], now: datetime
) -> None:
    """Park the ids the vector store rejected: ``failed`` with its reason, retried later.

    Only these ids are held back (the rest of their claim was applied). Their rows stay
    in the outbox, due again after 1, 2, 4, … minutes up to :data:`MAX_PARK_S`; the
    state says ``failed`` until a later apply succeeds.
    """
    held = leases.lock_held(conn, batch.owner, batch.ids)
    for qa_id in sorted(held & set(errors)):
        error = errors[qa_id][:2000]
        mine = _covered_rows(batch, [qa_id])
        attempts = conn.execute(sa.select(sa.func.max(outbox.c.attempts)).where(mine))
        delay = min(60.0 * 2 ** (attempts.scalar_one() or 0), MAX_PARK_S)
        conn.execute(
            outbox.update()
            .where(mine)
            .values(
                attempts=outbox.c.attempts + 1,
                last_error=error,
                available_at=now + timedelta(seconds=delay),
            )
        )
        conn.execute(
            sync_status.update()
            .where(_release([qa_id], batch.owner))
            .values(
                state="failed",
                attempts=sync_status.c.attempts + 1,
                last_error=error,
                updated_at=now,
                lease_owner=None,
                lease_until=None,
            )
        )
    _requeue_lost(conn, batch, held, now)


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


def due_ids(conn: sa.Connection, ids: Sequence[str], *, now: datetime) -> list[str]:
    """Which of ``ids`` have outbox rows due at ``now``, sorted."""
    query = sa.select(outbox.c.qa_id).where(
        outbox.c.qa_id.in_(list(ids)), outbox.c.available_at <= now
    )
    return sorted(set(conn.execute(query).scalars()))


def due_summary(conn: sa.Connection, *, now: datetime) -> tuple[int, datetime | None]:
    """How many outbox rows are due at ``now`` (every tenant), and the oldest one's time."""
    query = sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(
        outbox.c.available_at <= now
    )
    count, oldest = conn.execute(query).one()
    return int(count), oldest


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
