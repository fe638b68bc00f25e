"""Query logs, user feedback and the per-day ``analytics`` counters.

The query path only appends: one ``query_logs`` row (and its ``query_log_hits``) per
query, and feedback updates that query's own row. Neither touches ``analytics``, whose
one row per tenant per day would otherwise be a write hot spot that every concurrent query
waits on (and, on PostgreSQL, races to create each morning). Query counts, latency and
ratings are aggregated from ``query_logs`` when read (:func:`query_stats`); ``analytics``
keeps the ingest-side counters (:func:`bump`), which change once per ingest batch. Its
``query_count``, ``*_response_time_ms`` and ``feedback_*`` columns are no longer written.
"""

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
    """Attach a 1–5 rating (and comment) to a logged query; a second rating replaces it."""
    updated = conn.execute(
        query_logs.update()
        .where(query_logs.c.id == log_id, query_logs.c.tenant_id == tenant_id)
        .values(user_feedback=rating, feedback_comment=comment, feedback_at=now)
    )
    if updated.rowcount == 0:
        raise NotFound(
            f"No query log {log_id}. Use the query_log_id printed by 'medkb query --json'."
        )


def bump(
    conn: sa.Connection,
    *,
    tenant_id: str,
    now: datetime,
    **counters: int,
) -> None:
    """Add to today's analytics row, creating it first if needed.

    For the ingest side (``ingested_count``, ``updated_count``, ``deleted_count``), once per
    batch; queries and feedback are counted from ``query_logs`` instead (module docstring).
    """
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
    values = {name: analytics.c[name] + amount for name, amount in counters.items()}
    conn.execute(analytics.update().where(key).values(**values))


def query_stats(conn: sa.Connection, *, tenant_id: str) -> dict[str, Any]:
    """Totals over every day: queries, mean latency, feedback, pairs ingested.

    Queries and feedback are aggregated from ``query_logs`` now (one indexed scan of the
    tenant's logs), so the query path never writes a shared row.
    """
    queries, total_ms, feedback, rating_sum = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(query_logs.c.response_time_ms), 0.0),
            sa.func.count(query_logs.c.user_feedback),
            sa.func.coalesce(sa.func.sum(query_logs.c.user_feedback), 0),
        ).where(query_logs.c.tenant_id == tenant_id)
    ).one()
    ingested = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(analytics.c.ingested_count), 0)).where(
            analytics.c.tenant_id == tenant_id
        )
    ).scalar_one()
    return {
        "queries": int(queries),
        "avg_response_time_ms": round(float(total_ms) / queries, 2) if queries else None,
        "feedback_count": int(feedback),
        "avg_rating": round(float(rating_sum) / feedback, 2) if feedback else None,
        "ingested": int(ingested),
    }
