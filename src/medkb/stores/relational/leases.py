"""Per-id leases on ``sync_status``: one sync worker at a time applies a given pair id.

Without them two workers could claim outbox rows of the same id; A reads version 1, B
reads version 2 and writes it, A writes version 1 last, and the vector store keeps a stale
record. With them a worker first *leases* ids — ``lease_owner`` = its batch token,
``lease_until`` = now + lease — in one conditional UPDATE that only takes free or expired
leases, then works on the ids it holds. On PostgreSQL the candidate rows are locked with
``FOR UPDATE SKIP LOCKED``, so workers never wait for one another; SQLite serialises
writers anyway. A lease that expires (its worker was killed) is simply taken by the next
worker. Writers never take leases: they only add outbox rows, which a holder finishes or
leaves for the next claim.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from medkb.stores.relational.schema import outbox, sync_status

VECTOR_STORE = "vector"


def new_owner(name: str | None = None) -> str:
    """A unique lease token for one claim: ``host:pid:random`` (at most 64 characters)."""
    prefix = name or f"{socket.gethostname()[:24]}:{os.getpid()}"
    return f"{prefix[:48]}:{uuid.uuid4().hex[:12]}"


def upsert_statement(conn: sa.Connection, table: sa.Table) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support on PostgreSQL and SQLite."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def is_free(table: sa.FromClause, now: datetime) -> sa.ColumnElement[bool]:
    """No lease on the row, or only an expired one."""
    return sa.or_(table.c.lease_until.is_(None), table.c.lease_until < now)


def heal(conn: sa.Connection, *, now: datetime, ids: Collection[str] | None, limit: int) -> None:
    """Give due outbox rows that lack a ``sync_status`` row one, so they can be leased.

    Writers always add both in one transaction; a row can only be missing after a
    ``sync_status`` row was dropped while a new write for the id was in flight.
    """
    window = sa.select(outbox.c.qa_id, outbox.c.tenant_id).where(outbox.c.available_at <= now)
    if ids is not None:
        window = window.where(outbox.c.qa_id.in_(list(ids)))
    oldest = window.order_by(outbox.c.id).limit(limit).subquery()  # what this claim looks at
    joined = oldest.outerjoin(
        sync_status,
        sa.and_(sync_status.c.qa_id == oldest.c.qa_id, sync_status.c.store == VECTOR_STORE),
    )
    query = (
        sa.select(oldest.c.qa_id, oldest.c.tenant_id)
        .select_from(joined)
        .where(sync_status.c.qa_id.is_(None))
    )
    orphans = {row.qa_id: row.tenant_id for row in conn.execute(query)}
    if not orphans:
        return
    rows = [
        {"qa_id": qa_id, "store": VECTOR_STORE, "tenant_id": orphans[qa_id], "state": "pending"}
        | {"attempts": 0, "updated_at": now}
        for qa_id in sorted(orphans)
    ]
    conn.execute(upsert_statement(conn, sync_status).on_conflict_do_nothing(), rows)


def take(
    conn: sa.Connection,
    *,
    owner: str,
    now: datetime,
    until: datetime,
    ids: Collection[str] | None,
    limit: int,
) -> None:
    """Lease the free ids of the oldest ``limit`` due outbox rows to ``owner``."""
    candidates = _candidates(conn, now=now, ids=ids, limit=limit)
    conn.execute(
        sync_status.update()
        .where(
            sync_status.c.store == VECTOR_STORE,
            sync_status.c.qa_id.in_(candidates),
            is_free(sync_status, now),
        )
        .values(lease_owner=owner, lease_until=until)
    )


def _candidates(
    conn: sa.Connection, *, now: datetime, ids: Collection[str] | None, limit: int
) -> sa.Select[tuple[str]]:
    """The pair ids of the oldest ``limit`` due outbox rows whose lease is free.

    Both forms walk the outbox in id order and stop after ``limit`` rows, looking each
    id's lease up by primary key, so a claim costs O(limit) however big the outbox and
    ``sync_status`` are. PostgreSQL joins, to lock the leases it takes with ``FOR UPDATE
    SKIP LOCKED``; SQLite, which serialises writers anyway, asks ``EXISTS``, since a
    join there (no table statistics) was planned as a scan of every ``sync_status`` row.
    """
    held = sync_status.alias("held")
    lease_of = sa.and_(held.c.qa_id == outbox.c.qa_id, held.c.store == VECTOR_STORE)
    if conn.dialect.name == "postgresql":
        candidates = sa.select(outbox.c.qa_id).join(held, lease_of).where(is_free(held, now))
    else:
        free = sa.select(held.c.qa_id).where(lease_of, is_free(held, now))
        candidates = sa.select(outbox.c.qa_id).where(free.exists())
    candidates = candidates.where(outbox.c.available_at <= now)
    if ids is not None:
        candidates = candidates.where(outbox.c.qa_id.in_(list(ids)))
    candidates = candidates.order_by(outbox.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True, of=held)
    return candidates


def held_ids(conn: sa.Connection, owner: str) -> list[str]:
    """The ids leased to ``owner``, sorted."""
    query = sa.select(sync_status.c.qa_id).where(
        sync_status.c.lease_owner == owner, sync_status.c.store == VECTOR_STORE
    )
    return sorted(conn.execute(query).scalars())


def lock_held(conn: sa.Connection, owner: str | None, ids: Sequence[str]) -> set[str]:
    """Of ``ids``, those still leased to ``owner``, locked for the rest of the transaction.

    ``owner=None`` (rows read without a lease) holds every id. Rows are locked in id order
    on PostgreSQL, the order writers lock them in, so the two never deadlock; on SQLite a
    first no-op UPDATE takes the database write lock before anything is read.
    """
    if owner is None:
        return set(ids)
    mine = sa.and_(sync_status.c.lease_owner == owner, sync_status.c.store == VECTOR_STORE)
    query = sa.select(sync_status.c.qa_id).where(mine)
    if conn.dialect.name == "postgresql":
        query = query.order_by(sync_status.c.qa_id).with_for_update()
    else:
        conn.execute(sync_status.update().where(mine).values(lease_owner=owner))
    return set(conn.execute(query).scalars()) & set(ids)


def renew(conn: sa.Connection, owner: str, *, until: datetime) -> list[str]:
    """Extend ``owner``'s leases to ``until``; return the ids it still holds."""
    conn.execute(
        sync_status.update()
        .where(sync_status.c.lease_owner == owner, sync_status.c.store == VECTOR_STORE)
        .values(lease_until=until)
    )
    return held_ids(conn, owner)


def holders(conn: sa.Connection, ids: Collection[str], *, now: datetime) -> dict[str, str]:
    """Of ``ids``, those leased right now, with the lease owner."""
    query = sa.select(sync_status.c.qa_id, sync_status.c.lease_owner).where(
        sync_status.c.qa_id.in_(list(ids)),
        sync_status.c.store == VECTOR_STORE,
        sync_status.c.lease_until >= now,
    )
    return {qa_id: str(owner) for qa_id, owner in conn.execute(query)}
