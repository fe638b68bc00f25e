"""The ``db`` bus forgets what it no longer needs: events every claiming group acked,
older than the retention, are deleted by the workers, and nothing else is."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from medkb.app import KnowledgeBase
from medkb.config import StreamSettings
from medkb.stores.relational.schema import stream_claims, stream_events
from medkb.stream.bus.db import DbBus
from medkb.stream.consumer import StreamWorker
from medkb.sync.apply import utcnow
from tests.integration.stream_helpers import behaviour_event, counts

HOUR = 3600.0


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def _bodies(engine: sa.Engine, topic: str = "t") -> list[str]:
    query = sa.select(stream_events.c.body).where(stream_events.c.topic == topic)
    with engine.connect() as conn:
        return list(conn.execute(query.order_by(stream_events.c.id)).scalars())


def test_prune_deletes_only_old_events_every_claiming_group_acked(kb: KnowledgeBase) -> None:
    clock = Clock()
    bus = DbBus(kb.engine, clock=clock)
    clock.now -= timedelta(hours=2)
    bus.publish("t", ["e1", "e2", "e3"])
    bus.publish("other", ["o1"])
    taken = bus.consume("t", group="g", consumer="c", count=10)
    bus.ack("t", group="g", ids=[m.id for m in taken])
    bus.ack(
        "other",
        group="g",
        ids=[m.id for m in bus.consume("other", group="g", consumer="c", count=9)],
    )
    bus.consume("t", group="slow", consumer="c", count=1)  # e1: held by a group, unacked
    clock.now += timedelta(hours=2)
    bus.publish("t", ["e5"])  # young
    bus.ack("t", group="g", ids=[m.id for m in bus.consume("t", group="g", consumer="c", count=9)])
    clock.now -= timedelta(hours=2)
    bus.publish("t", ["e4"])  # old, but no group has taken it yet
    clock.now += timedelta(hours=2)
    assert _bodies(kb.engine) == ["e1", "e2", "e3", "e5", "e4"]

    assert bus.prune("t", older_than_s=HOUR) == 2
    assert _bodies(kb.engine) == ["e1", "e5", "e4"]  # e1 unacked by "slow", e4 unclaimed
    assert _bodies(kb.engine, "other") == ["o1"]  # another topic is pruned on its own
    with kb.engine.connect() as conn:  # no claim is left pointing at a deleted event
        orphans = conn.execute(
            sa.select(sa.func.count())
            .select_from(stream_claims)
            .where(~stream_claims.c.event_id.in_(sa.select(stream_events.c.id)))
        ).scalar_one()
    assert orphans == 0
    assert bus.prune("t", older_than_s=HOUR) == 0
    clock.now += timedelta(seconds=1)
    assert bus.prune("t", older_than_s=0) == 1  # e5 once nothing is young enough to keep
    slow = bus.consume("t", group="slow", consumer="c", count=9)
    assert [m.body for m in slow] == ["e1", "e4"]  # what the slow group still needs


def test_a_worker_prunes_its_topic_periodically(kb: KnowledgeBase) -> None:
    clock = Clock()
    bus = DbBus(kb.engine, clock=clock, visibility_s=30)
    clock.now -= timedelta(hours=2)
    bus.publish("t", [behaviour_event(n) for n in range(3)])
    clock.now += timedelta(hours=2)
    settings = StreamSettings(block_s=0.05, retention_s=HOUR, prune_every_s=0.01)
    worker = StreamWorker(kb=kb, bus=bus, topic="t", group="g", settings=settings)
    stats = worker.run(until_idle=True)  # it may prune as it goes, or not yet
    assert stats.applied == 3
    time.sleep(0.05)  # past prune_every_s: the next step prunes what is left
    assert worker.step() == 0 and stats.pruned == 3
    assert _bodies(kb.engine) == []
    assert counts(kb.engine)["behaviour"] == 3  # the stores keep what the events wrote

    kept = StreamSettings(block_s=0.05, retention_s=0, prune_every_s=0.01)
    bus.publish("t", [behaviour_event(9)])
    clock.now += timedelta(hours=2)
    again = StreamWorker(kb=kb, bus=bus, topic="t", group="g", settings=kept)
    again.run(until_idle=True)
    time.sleep(0.05)
    assert again.step() == 0 and again.stats.pruned == 0  # retention 0: kept forever
    assert len(_bodies(kb.engine)) == 1
