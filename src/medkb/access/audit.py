"""The append-only audit log: who did what to which tenant's data, when and from where."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from medkb.stores.relational import access
from medkb.sync.apply import utcnow


@dataclass(frozen=True)
class AuditEntry:
    """One action to record."""

    tenant_id: str
    actor: str
    action: str
    target: str | None = None
    ip: str | None = None
    request_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


def record(engine: sa.Engine, entry: AuditEntry) -> int:
    """Append ``entry``; return its id."""
    with engine.begin() as conn:
        return access.append_audit(
            conn,
            {
                "at": utcnow(),
                "tenant_id": entry.tenant_id,
                "actor": entry.actor,
                "action": entry.action,
                "target": entry.target,
                "ip": entry.ip,
                "request_id": entry.request_id,
                "detail": dict(entry.detail),
            },
        )


def entries(
    engine: sa.Engine,
    *,
    tenant_id: str | None,
    limit: int = 100,
    before_id: int | None = None,
    actions: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Audit entries, newest first; ``before_id`` pages to older ones."""
    with engine.connect() as conn:
        rows = access.list_audit(
            conn, tenant_id=tenant_id, limit=limit, before_id=before_id, actions=actions
        )
    for row in rows:
        row["at"] = row["at"].isoformat() if row["at"] is not None else None
    return rows
