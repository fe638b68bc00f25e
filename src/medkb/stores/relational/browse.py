"""Read-only views for the service edges: pair listing with keyset paging, analytics.

Every query is bounded by ``tenant_id``; nothing here can see another tenant's rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from medkb.models import QAPair
from medkb.stores.relational.pairs import filter_clause, get_pairs
from medkb.stores.relational.schema import (
    analytics,
    document_sources,
    qa,
    query_log_hits,
    query_logs,
)


def page_pairs(
    conn: sa.Connection,
    *,
    tenant_id: str,
    filters: Mapping[str, Sequence[str]] | None,
    after: str | None,
    limit: int,
) -> tuple[list[QAPair], str | None]:
    """One page of pairs ordered by id, and the id to continue after (None at the end)."""
    query = (
        sa.select(qa.c.id)
        .where(qa.c.tenant_id == tenant_id, *filter_clause(filters))
        .order_by(qa.c.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(qa.c.id > after)
    ids = list(conn.execute(query).scalars())
    more = len(ids) > limit
    ids = ids[:limit]
    found = get_pairs(conn, ids, tenant_id=tenant_id)
    return [found[i] for i in ids if i in found], (ids[-1] if more and ids else None)


def queries_per_day(
    conn: sa.Connection, *, tenant_id: str, days: int, today: date
) -> list[dict[str, Any]]:
    """Per day of the last ``days`` with any activity: queries, mean latency and feedback
    (aggregated from ``query_logs``, which the query path writes) and the writes counted
    in ``analytics`` (whose query and feedback columns are no longer written)."""
    since = today - timedelta(days=days - 1)
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    found: dict[str, dict[str, Any]] = {}

    def day(key: Any) -> dict[str, Any]:
        name = str(key)[:10]
        return found.setdefault(
            name,
            {"date": name, "queries": 0, "avg_response_time_ms": 0.0,
             "ingested": 0, "updated": 0, "deleted": 0, "feedback": 0},
        )  # fmt: skip

    for row in conn.execute(
        sa.select(analytics).where(analytics.c.tenant_id == tenant_id, analytics.c.date >= since)
    ):
        entry = day(row.date.isoformat())
        entry.update(
            ingested=row.ingested_count, updated=row.updated_count, deleted=row.deleted_count
        )
    for when, count, mean in _logged(conn, query_logs.c.created_at, tenant_id, start):
        day(when).update(queries=count, avg_response_time_ms=round(mean, 2))
    for when, count, _mean in _logged(conn, query_logs.c.feedback_at, tenant_id, start):
        day(when)["feedback"] = count
    return [found[name] for name in sorted(found)]


def _logged(
    conn: sa.Connection, column: Any, tenant_id: str, start: datetime
) -> list[tuple[Any, int, float]]:
    """(day, rows, mean latency) of the tenant's query logs by the day of ``column``."""
    when = sa.func.date(column)
    query = (
        sa.select(when, sa.func.count(), sa.func.avg(query_logs.c.response_time_ms))
        .where(query_logs.c.tenant_id == tenant_id, column >= start)
        .group_by(when)
    )
    return [(row[0], int(row[1]), float(row[2] or 0.0)) for row in conn.execute(query)]


def latencies(conn: sa.Connection, *, tenant_id: str, since: Any) -> list[float]:
    """Response times (ms) of the tenant's queries since ``since``, ascending."""
    query = (
        sa.select(query_logs.c.response_time_ms)
        .where(query_logs.c.tenant_id == tenant_id, query_logs.c.created_at >= since)
        .order_by(query_logs.c.response_time_ms)
    )
    return [float(v) for v in conn.execute(query).scalars()]


def popular_pairs(
    conn: sa.Connection, *, tenant_id: str, since: Any, limit: int
) -> list[dict[str, Any]]:
    """The pairs most often among query hits since ``since``, with their questions."""
    hits = sa.func.count().label("hits")
    query = (
        sa.select(qa.c.id, qa.c.question, hits)
        .select_from(query_log_hits.join(query_logs).join(qa, qa.c.id == query_log_hits.c.qa_id))
        .where(query_logs.c.tenant_id == tenant_id, qa.c.tenant_id == tenant_id)
        .where(query_logs.c.created_at >= since)
        .group_by(qa.c.id, qa.c.question)
        .order_by(hits.desc(), qa.c.id)
        .limit(limit)
    )
    return [{"id": r.id, "question": r.question, "hits": int(r.hits)} for r in conn.execute(query)]


def feedback_summary(conn: sa.Connection, *, tenant_id: str, since: Any) -> dict[str, Any]:
    """Ratings given since ``since``: count, mean and how many of each 1-5."""
    rows = conn.execute(
        sa.select(query_logs.c.user_feedback, sa.func.count())
        .where(query_logs.c.tenant_id == tenant_id, query_logs.c.user_feedback.is_not(None))
        .where(query_logs.c.feedback_at >= since)
        .group_by(query_logs.c.user_feedback)
    ).all()
    counts = {str(r): 0 for r in range(1, 6)}
    counts.update({str(rating): int(n) for rating, n in rows})
    total = sum(counts.values())
    mean = sum(int(k) * v for k, v in counts.items()) / total if total else None
    return {
        "count": total,
        "avg_rating": None if mean is None else round(mean, 2),
        "ratings": counts,
    }


def percentile(sorted_values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return round(sorted_values[min(rank, len(sorted_values)) - 1], 2)


def documents(conn: sa.Connection, *, tenant_id: str, limit: int) -> list[dict[str, Any]]:
    """The documents ``tenant_id``'s pairs cite, with how many pairs each, by name."""
    pairs_n = sa.func.count(sa.distinct(document_sources.c.qa_id)).label("pairs")
    query = (
        sa.select(document_sources.c.document, pairs_n, sa.func.max(qa.c.updated_at).label("at"))
        .join(qa, qa.c.id == document_sources.c.qa_id)
        .where(qa.c.tenant_id == tenant_id)
        .group_by(document_sources.c.document)
        .order_by(document_sources.c.document)
        .limit(limit)
    )
    return [
        {"document": r.document, "pairs": int(r.pairs), "updated_at": r.at.isoformat()}
        for r in conn.execute(query)
    ]


def usage(conn: sa.Connection, *, tenant_id: str, days: int, top: int) -> dict[str, Any]:
    """Queries per day, p50/p95 latency, popular pairs and feedback over the last ``days``."""
    now = datetime.now(UTC)
    since = now - timedelta(days=days)
    times = latencies(conn, tenant_id=tenant_id, since=since)
    return {
        "days": days,
        "per_day": queries_per_day(conn, tenant_id=tenant_id, days=days, today=now.date()),
        "latency_ms": {
            "count": len(times),
            "p50": percentile(times, 0.5),
            "p95": percentile(times, 0.95),
        },
        "popular_pairs": popular_pairs(conn, tenant_id=tenant_id, since=since, limit=top),
        "feedback": feedback_summary(conn, tenant_id=tenant_id, since=since),
    }


def ids_citing(conn: sa.Connection, document: str, *, tenant_id: str) -> list[str]:
    """Ids of ``tenant_id``'s pairs whose source is ``document``."""
    query = (
        sa.select(sa.distinct(qa.c.id))
        .join(document_sources, document_sources.c.qa_id == qa.c.id)
        .where(document_sources.c.document == document, qa.c.tenant_id == tenant_id)
        .order_by(qa.c.id)
    )
    return list(conn.execute(query).scalars())
