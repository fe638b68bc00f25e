"""The ``db`` bus: topics as rows of the relational store (SQLite or PostgreSQL).

The embedded default: no broker to run. An event is a ``stream_events`` row; a consumer
group's progress is a ``stream_claims`` row per delivered event (who holds it, until when,
how often it was delivered, when it was acked).

A claim is one transaction: pick the topic's oldest events the group has not acked and no
consumer holds (never delivered, or held past their visibility time) — on PostgreSQL
``FOR UPDATE SKIP LOCKED``, so consumers claiming at once take different events instead of
waiting on one another — then upsert their claim rows *conditionally*: an existing row is
only taken over while it is still unacked and expired. The rows the upsert returns are the
ones this consumer now holds, so two consumers can never hold one event, on SQLite (whose
writers are serialised) as on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from medkb.stores.relational.schema import stream_claims, stream_dead_letters, stream_events
from medkb.stream.bus.base import DeadLetter, Message
from medkb.sync.apply import utcnow

#: Seconds between polls while a consumer waits for events.
POLL_S = 0.05


class DbBus:
    """A :class:`~medkb.stream.bus.base.Bus` on a SQLAlchemy engine at migration 0006+."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        visibility_s: float = 30.0,
        owns_engine: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine, self.visibility_s, self.owns_engine = engine, visibility_s, owns_engine
        self.clock = clock
        self.url = f"db:{engine.url.render_as_string(hide_password=True)}"
        self._postgres = engine.dialect.name == "postgresql"

    def publish(self, topic: str, bodies: list[str]) -> list[str]:
        """Insert one row per event, in order, in one transaction."""
        if not bodies:
            return []
        now = self.clock()
        rows = [{"topic": topic, "body": body, "created_at": now} for body in bodies]
        with self.engine.begin() as conn:
            ids = conn.execute(
                stream_events.insert().returning(stream_events.c.id, sort_by_parameter_order=True),
                rows,
            ).scalars()
            return [str(i) for i in ids]

    def consume(
        self, topic: str, *, group: str, consumer: str, count: int, block_s: float = 0.0
    ) -> list[Message]:
        """Claim up to ``count`` events, polling every :data:`POLL_S` for ``block_s``."""
        deadline = time.monotonic() + block_s
        while True:
            messages = self._claim(topic, group=group, consumer=consumer, count=count)
            if messages or time.monotonic() >= deadline:
                return messages
            time.sleep(min(POLL_S, max(deadline - time.monotonic(), 0)))

    def _claim(self, topic: str, *, group: str, consumer: str, count: int) -> list[Message]:
        now = self.clock()
        with self.engine.begin() as conn:
            candidates: dict[int, str] = dict(
                conn.execute(self._candidates(topic, group, now, count)).all()
            )
            if not candidates:
                return []
            statement, rows = self._upsert_claims(
                list(candidates), group=group, consumer=consumer, now=now
            )
            held = conn.execute(statement, rows).all()
        return [
            Message(id=str(event_id), body=candidates[event_id], attempts=attempts)
            for event_id, attempts in sorted(held)
        ]

    def _candidates(self, topic: str, group: str, now: datetime, count: int) -> sa.Select[Any]:
        """The topic's oldest events without a claim of ``group`` that is acked or held.

        A correlated ``NOT EXISTS`` walks ``ix_stream_events_topic`` in id order with one
        primary-key probe of ``stream_claims`` per event and stops at ``count`` (an outer
        join with an ``OR`` filter let PostgreSQL pick a quadratic plan).
        """
        claims = stream_claims.c
        taken = (
            sa.select(sa.literal(1))
            .where(
                claims.group_name == group,
                claims.event_id == stream_events.c.id,
                sa.or_(claims.acked_at.is_not(None), claims.claimed_until >= now),
            )
            .exists()
        )
        query = (
            sa.select(stream_events.c.id, stream_events.c.body)
            .where(stream_events.c.topic == topic, ~taken)
            .order_by(stream_events.c.id)
            .limit(count)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        return query

    def _upsert_claims(
        self, event_ids: list[int], *, group: str, consumer: str, now: datetime
    ) -> tuple[Any, list[dict[str, Any]]]:
        """The conditional upsert and its rows (executemany: one cached statement, sent
        in batches by SQLAlchemy's insertmanyvalues, with RETURNING)."""
        until = now + timedelta(seconds=self.visibility_s)
        insert = (postgresql if self._postgres else sqlite).insert(stream_claims)
        rows = [
            {
                "group_name": group,
                "event_id": event_id,
                "consumer": consumer,
                "claimed_until": until,
                "attempts": 1,
            }
            for event_id in event_ids
        ]
        claims = stream_claims.c
        statement = insert.on_conflict_do_update(
            index_elements=[claims.group_name, claims.event_id],
            set_={
                "consumer": insert.excluded.consumer,
                "claimed_until": insert.excluded.claimed_until,
                "attempts": claims.attempts + 1,
            },
            where=sa.and_(claims.acked_at.is_(None), claims.claimed_until < now),
        ).returning(claims.event_id, claims.attempts)
        return statement, rows

    def ack(self, topic: str, *, group: str, ids: list[str]) -> None:
        """Set ``acked_at`` on the group's claims of ``ids``."""
        if ids:
            with self.engine.begin() as conn:
                self._ack(conn, group, ids)

    def _ack(self, conn: sa.Connection, group: str, ids: list[str]) -> None:
        conn.execute(
            stream_claims.update()
            .where(
                stream_claims.c.group_name == group,
                stream_claims.c.event_id.in_([int(i) for i in ids]),
            )
            .values(acked_at=self.clock())
        )

    def dead_letter(
        self, topic: str, *, group: str, message: Message, reason: str, origin: dict[str, Any]
    ) -> None:
        """Insert the dead letter and ack the delivery in one transaction."""
        with self.engine.begin() as conn:
            conn.execute(
                stream_dead_letters.insert().values(
                    topic=topic,
                    group_name=group,
                    reason=reason,
                    payload=message.body,
                    origin=origin,
                    created_at=self.clock(),
                )
            )
            self._ack(conn, group, [message.id])

    def dead_letters(self, topic: str, *, limit: int = 100) -> list[DeadLetter]:
        """The topic's dead letters, oldest first."""
        dlq = stream_dead_letters
        query = sa.select(dlq).where(dlq.c.topic == topic).order_by(dlq.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [
                DeadLetter(
                    id=str(row.id),
                    topic=row.topic,
                    group=row.group_name,
                    reason=row.reason,
                    payload=row.payload,
                    origin=dict(row.origin),
                    created_at=row.created_at.isoformat(),
                )
                for row in conn.execute(query)
            ]

    def count_dead_letters(self, topic: str) -> int:
        """``count(*)`` of the topic's dead letters."""
        dlq = stream_dead_letters
        query = sa.select(sa.func.count()).select_from(dlq).where(dlq.c.topic == topic)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def remove_dead_letter(self, topic: str, dead_id: str) -> bool:
        """Delete one dead letter of ``topic``."""
        if not dead_id.isdigit():
            return False
        dlq = stream_dead_letters
        with self.engine.begin() as conn:
            gone = conn.execute(dlq.delete().where(dlq.c.topic == topic, dlq.c.id == int(dead_id)))
        return gone.rowcount > 0

    def prune(self, topic: str, *, older_than_s: float, limit: int = 1000) -> int:
        """Delete old events that were acked by every group that claimed them.

        An event no group claimed yet is kept: a worker that was down longer than the
        retention still finds it. Claims go first (SQLite enforces no foreign keys here).
        """
        cutoff = self.clock() - timedelta(seconds=older_than_s)
        claims, events = stream_claims.c, stream_events.c
        unacked = (
            sa.select(sa.literal(1))
            .where(claims.event_id == events.id, claims.acked_at.is_(None))
            .exists()
        )
        claimed = sa.select(sa.literal(1)).where(claims.event_id == events.id).exists()
        chosen = (
            sa.select(events.id)
            .where(events.topic == topic, events.created_at < cutoff, claimed, ~unacked)
            .order_by(events.id)
            .limit(limit)
        )
        with self.engine.begin() as conn:
            ids = list(conn.execute(chosen).scalars())
            if ids:
                conn.execute(stream_claims.delete().where(claims.event_id.in_(ids)))
                conn.execute(stream_events.delete().where(events.id.in_(ids)))
        return len(ids)

    def ping(self) -> None:
        """A trivial query (driver errors arrive as medkb store errors)."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        """Dispose of the engine when this bus opened it."""
        if self.owns_engine:
            self.engine.dispose()
