"""``behaviour.event`` interactions searchable by similarity (SPEC §D).

Each event is stored with the float32 vector of a short description of it
(:func:`describe`). :func:`similar_events` filters in SQL (tenant always; user, category,
event type and a time window when asked), then ranks the rows it reads by cosine
similarity in numpy, reading them in keyset batches so that memory stays bounded by the
batch size and ``k`` whatever the table holds. Rows without an embedding (written before
migration 0007) or with a vector of another dimension are skipped.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from medkb.stores.relational.schema import behaviour_events

#: Rows read per round trip (2,048 × 384 float32 ≈ 3 MB).
BATCH_ROWS = 2048
_SHOWN = ("event_id", "user_id", "session_id", "event_type", "item_id", "category", "price")


@dataclass(frozen=True)
class EventHit:
    """One stored event and its cosine similarity to the query."""

    event_id: str
    user_id: str
    session_id: str | None
    event_type: str
    item_id: str | None
    category: str | None
    price: float | None
    occurred_at: datetime
    score: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the timestamp in ISO 8601."""
        return {**vars(self), "occurred_at": self.occurred_at.isoformat()}


def describe(*, event_type: str, item_id: str | None, category: str | None) -> str:
    """The text embedded for an event: ``"purchase · item-42 · cardiology"``."""
    return " · ".join(part for part in (event_type, item_id, category) if part)


def similar_events(
    engine: sa.Engine,
    tenant_id: str,
    vector: npt.NDArray[np.float32],
    *,
    k: int,
    user: str | None = None,
    category: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    event_type: str | None = None,
    batch_rows: int = BATCH_ROWS,
) -> list[EventHit]:
    """The ``k`` events of ``tenant_id`` most similar to ``vector``, best first.

    ``since`` is inclusive, ``until`` exclusive. Ties keep the order of event ids.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}.")
    query = np.asarray(vector, dtype=np.float32).ravel()
    query = query / (float(np.linalg.norm(query)) or 1.0)
    where = _conditions(tenant_id, user, category, since, until, event_type)
    best: list[tuple[float, int, Any]] = []  # a min-heap of (score, -order, row)
    order = 0
    with engine.connect() as conn:
        for rows in _batches(conn, where, batch_rows):
            scored = _scores(query, rows)
            for row, score in scored:
                order += 1
                item = (score, -order, row)
                if len(best) < k:
                    heapq.heappush(best, item)
                elif item > best[0]:
                    heapq.heapreplace(best, item)
    return [_hit(row, score) for score, _, row in sorted(best, reverse=True)]


def _conditions(
    tenant_id: str,
    user: str | None,
    category: str | None,
    since: datetime | None,
    until: datetime | None,
    event_type: str | None,
) -> list[sa.ColumnElement[bool]]:
    c = behaviour_events.c
    where = [c.tenant_id == tenant_id, c.embedding.is_not(None)]
    if user is not None:
        where.append(c.user_id == user)
    if category is not None:
        where.append(c.category == category)
    if event_type is not None:
        where.append(c.event_type == event_type)
    if since is not None:
        where.append(c.occurred_at >= utc(since))
    if until is not None:
        where.append(c.occurred_at < utc(until))
    return where


def _batches(
    conn: sa.Connection, where: list[sa.ColumnElement[bool]], size: int
) -> Iterator[list[Any]]:
    """Matching rows in event-id order, ``size`` at a time (keyset pagination)."""
    c = behaviour_events.c
    columns = [*(c[name] for name in _SHOWN), c.occurred_at, c.embedding]
    after: str | None = None
    while True:
        page = sa.select(*columns).where(*where).order_by(c.event_id).limit(size)
        if after is not None:
            page = page.where(c.event_id > after)
        rows = list(conn.execute(page).all())
        if not rows:
            return
        yield rows
        after = rows[-1].event_id


def _scores(query: npt.NDArray[np.float32], rows: list[Any]) -> list[tuple[Any, float]]:
    """Cosine similarity of each row of the query's dimension (others are skipped)."""
    same = [r for r in rows if len(r.embedding) == query.size * 4]
    if not same:
        return []
    matrix = np.frombuffer(b"".join(r.embedding for r in same), dtype=np.float32)
    matrix = matrix.reshape(len(same), query.size)
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1.0
    # Row by row rather than one matrix product: BLAS sums in an order that depends on the
    # batch's shape, so equal texts could swap places between batch sizes.
    scores = (matrix * query).sum(axis=1) / norms
    return [(row, float(score)) for row, score in zip(same, scores, strict=True)]


def _hit(row: Any, score: float) -> EventHit:
    return EventHit(
        **{name: getattr(row, name) for name in _SHOWN},
        occurred_at=utc(row.occurred_at),
        score=score,
    )


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC, a naive one taken as UTC already.

    Event times are stored in UTC: SQLite keeps a datetime's wall-clock digits without its
    offset, so times of other zones would compare wrongly there.
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
