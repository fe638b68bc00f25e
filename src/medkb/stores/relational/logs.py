"""Query logs, user feedback and the per-day ``analytics`` counters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from medkb.errors import NotFound
from medkb.stores.relational.pairs import insert_if_absent
from medkb.stores.relational.schema import analytics, query_log_hits, query_logs

_COUNTERS = (
    "query_count",
    "ingested_count",
    "updated_count",
    "deleted_count",
    "feedback_count",
    "feedback_sum",
)


def log_query(
    conn: sa.Connection,
    *,
    tenant_id: str,
    query: str,
    answer: str,
    hits: Sequence[tuple[str, float]],
    timings: dict[str, float],
    session_id: str | None,
    now: datetime,
) -> int:
    """Store one answered query with its ranked hits; return the log id."""
    total = timings.get("total", 0.0)
    log_id = conn.execute(
        query_logs.insert()
        .values(
            tenant_id=tenant_id,
            session_id=session_id,
            query=query,
            answer=answer,
            response_time_ms=total,
            similarity_scores=[round(s, 6) for _, s in hits],
            timings=timings,
            created_at=now,
        )
        .returning(query_logs.c.id)
    ).scalar_one()
    if hits:
        conn.execute(
            query_log_hits.insert(),
            [
                {"query_log_id": log_id, "qa_id": qa_id, "rank": rank, "score": score}
                for rank, (qa_id, score) in enumerate(hits, start=1)
            ],
        )
    bump(conn, tenant_id=tenant_id, now=now, query_count=1, response_time_ms=total)
    return int(log_id)


def record_feedback(
    conn: sa.Connection,
    log_id: int,
    *,
    tenant_id: str,
    rating: int,
    comment: str | None,
    now: datetime,
) -> None:
    """Attach a 1–5 rating (and comment) to a logged query."""
    updated = conn.execute(
        query_logs.update()
        .where(query_logs.c.id == log_id, query_logs.c.tenant_id == tenant_id)
        .values(user_feedback=rating, feedback_comment=comment, feedback_at=now)
    )
    if updated.rowcount == 0:
        raise NotFound(
            f"No query log {log_id}. Use the query_log_id printed by 'medkb query --json'."
        )
    bump(conn, tenant_id=tenant_id, now=now, feedback_count=1, feedback_sum=rating)


def bump(
    conn: sa.Connection,
    *,
    tenant_id: str,
    now: datetime,
    response_time_ms: float = 0.0,
    **counters: int,
) -> None:
    """Add to today's analytics row, creating it first if needed."""
    key = (analytics.c.tenant_id == tenant_id) & (analytics.c.date == now.date())
    if conn.execute(sa.select(analytics.c.date).where(key)).first() is None:
        # Two processes may make today's row at once: the second insert is a no-op.
        insert_if_absent(
            conn,
            analytics,
            {
                "tenant_id": tenant_id,
                "date": now.date(),
                "total_response_time_ms": 0.0,
                "avg_response_time_ms": 0.0,
                **dict.fromkeys(_COUNTERS, 0),
            },
        )
    values: dict[str, Any] = {name: analytics.c[name] + amount for name, amount in counters.items()}
    values["total_response_time_ms"] = analytics.c.total_response_time_ms + response_time_ms
    conn.execute(analytics.update().where(key).values(**values))
    conn.execute(
        analytics.update()
        .where(key, analytics.c.query_count > 0)
        .values(avg_response_time_ms=analytics.c.total_response_time_ms / analytics.c.query_count)
    )


def query_stats(conn: sa.Connection, *, tenant_id: str) -> dict[str, Any]:
    """Totals over every day: queries, mean latency, feedback."""
    row = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(analytics.c.query_count), 0),
            sa.func.coalesce(sa.func.sum(analytics.c.total_response_time_ms), 0.0),
            sa.func.coalesce(sa.func.sum(analytics.c.feedback_count), 0),
            sa.func.coalesce(sa.func.sum(analytics.c.feedback_sum), 0),
            sa.func.coalesce(sa.func.sum(analytics.c.ingested_count), 0),
        ).where(analytics.c.tenant_id == tenant_id)
    ).one()
    queries, total_ms, feedback, rating_sum, ingested = row
    return {
        "queries": int(queries),
        "avg_response_time_ms": round(float(total_ms) / queries, 2) if queries else None,
        "feedback_count": int(feedback),
        "avg_rating": round(float(rating_sum) / feedback, 2) if feedback else None,
        "ingested": int(ingested),
    }
