"""Tenants, API keys and the audit log: the rows behind the HTTP service's access control.

Keys are stored as a SHA-256 of the secret, never the key itself; the audit log is only
ever appended to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from medkb.stores.relational.schema import api_keys, audit_log, tenants


def tenant_exists(conn: sa.Connection, tenant_id: str) -> bool:
    """Whether ``tenant_id`` is a tenant."""
    found = conn.execute(sa.select(tenants.c.id).where(tenants.c.id == tenant_id)).first()
    return found is not None


def insert_tenant(conn: sa.Connection, tenant_id: str, *, name: str, now: datetime) -> None:
    """Add a tenant row."""
    conn.execute(tenants.insert().values(id=tenant_id, name=name, created_at=now))


def list_tenants(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every tenant with its pair count, oldest first."""
    from medkb.stores.relational.schema import qa

    counts = (
        sa.select(qa.c.tenant_id, sa.func.count().label("n")).group_by(qa.c.tenant_id).subquery()
    )
    query = (
        sa.select(tenants.c.id, tenants.c.name, tenants.c.created_at, counts.c.n)
        .outerjoin(counts, counts.c.tenant_id == tenants.c.id)
        .order_by(tenants.c.created_at, tenants.c.id)
    )
    return [
        {"id": r.id, "name": r.name, "created_at": r.created_at, "pairs": r.n or 0}
        for r in conn.execute(query)
    ]


def insert_key(conn: sa.Connection, row: Mapping[str, Any]) -> None:
    """Store a key row (``id, tenant_id, name, prefix, hash, scopes, created_at``)."""
    conn.execute(api_keys.insert().values(**row))


def key_by_prefix(conn: sa.Connection, prefix: str) -> sa.Row[Any] | None:
    """The key row whose lookup prefix is ``prefix``, revoked or not."""
    return conn.execute(sa.select(api_keys).where(api_keys.c.prefix == prefix)).first()


def key_by_id(conn: sa.Connection, key_id: str) -> sa.Row[Any] | None:
    """The key row ``key_id``."""
    return conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).first()


def list_keys(conn: sa.Connection, *, tenant_id: str | None = None) -> list[sa.Row[Any]]:
    """Key rows (of one tenant when given), oldest first."""
    query = sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
    if tenant_id is not None:
        query = query.where(api_keys.c.tenant_id == tenant_id)
    return list(conn.execute(query))


def revoke_key(conn: sa.Connection, key_id: str, *, now: datetime) -> bool:
    """Mark a key revoked; False when it does not exist or already was."""
    result = conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


def touch_key(conn: sa.Connection, key_id: str, *, now: datetime) -> None:
    """Record that a key was just used."""
    conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(last_used_at=now))


def append_audit(conn: sa.Connection, entry: Mapping[str, Any]) -> int:
    """Append one audit entry; return its id."""
    result = conn.execute(audit_log.insert().values(**entry).returning(audit_log.c.id))
    return int(result.scalar_one())


def list_audit(
    conn: sa.Connection,
    *,
    tenant_id: str | None,
    limit: int,
    before_id: int | None = None,
    actions: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Audit entries, newest first (one tenant's when given; ``before_id`` pages back)."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if tenant_id is not None:
        query = query.where(audit_log.c.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    if actions:
        query = query.where(audit_log.c.action.in_(list(actions)))
    return [dict(row._mapping) for row in conn.execute(query)]
