"""Document ingestion jobs started through the API: state, progress and report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from medkb.stores.relational.schema import ingest_jobs


def insert_job(
    conn: sa.Connection, job_id: str, *, tenant_id: str, files: Sequence[str], now: datetime
) -> None:
    """Record a queued job for ``files``."""
    conn.execute(
        ingest_jobs.insert().values(
            id=job_id,
            tenant_id=tenant_id,
            state="queued",
            files=list(files),
            done=0,
            total=len(files),
            created_at=now,
            updated_at=now,
        )
    )


def update_job(conn: sa.Connection, job_id: str, *, now: datetime, **values: Any) -> None:
    """Set a job's state, progress, report or error."""
    conn.execute(
        ingest_jobs.update().where(ingest_jobs.c.id == job_id).values(updated_at=now, **values)
    )


def get_job(conn: sa.Connection, job_id: str, *, tenant_id: str) -> dict[str, Any] | None:
    """One of ``tenant_id``'s jobs, or None (also for another tenant's job)."""
    row = conn.execute(
        sa.select(ingest_jobs).where(
            ingest_jobs.c.id == job_id, ingest_jobs.c.tenant_id == tenant_id
        )
    ).first()
    return None if row is None else _job(row)


def list_jobs(conn: sa.Connection, *, tenant_id: str, limit: int) -> list[dict[str, Any]]:
    """``tenant_id``'s most recent jobs, newest first."""
    rows = conn.execute(
        sa.select(ingest_jobs)
        .where(ingest_jobs.c.tenant_id == tenant_id)
        .order_by(ingest_jobs.c.created_at.desc(), ingest_jobs.c.id)
        .limit(limit)
    )
    return [_job(row) for row in rows]


def unfinished(conn: sa.Connection) -> list[dict[str, Any]]:
    """Jobs left queued or running (by a process that stopped before finishing them)."""
    rows = conn.execute(
        sa.select(ingest_jobs).where(ingest_jobs.c.state.in_(["queued", "running"]))
    )
    return [_job(row) for row in rows]


def _job(row: sa.Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "state": row.state,
        "files": list(row.files),
        "done": row.done,
        "total": row.total,
        "current": row.current,
        "report": row.report,
        "error": row.error,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }
