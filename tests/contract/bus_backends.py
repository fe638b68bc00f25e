"""Buses for the bus contract suite: each test gets openers for fresh buses of one kind."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from medkb.stream.bus.base import Bus
from medkb.stream.bus.registry import open_bus
from tests.services import fresh_postgres_database, unavailable

REDIS_URL = os.environ.get("MEDKB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

BUSES = [
    pytest.param("db-sqlite", id="db-sqlite"),
    pytest.param("db-postgres", id="db-postgres", marks=pytest.mark.postgres),
    pytest.param("redis", id="redis"),
    pytest.param("kafka", id="kafka"),
]

#: Opens one more connection to the same bus ("another process"), with a visibility time.
Opener = Callable[[float], Bus]


def bus_openers(kind: str, tmp_path: Path, kafka_url: str = "") -> Iterator[Opener]:
    """Openers of buses of ``kind`` sharing one location; everything opened is closed.

    ``kafka_url``: the session's broker (the ``kafka_url`` fixture), for ``kafka``.
    """
    opened: list[Bus] = []
    if kind == "kafka":
        yield _tracking(opened, kafka_url)
    elif kind == "db-sqlite":
        url = f"sqlite:///{tmp_path / 'bus.db'}"
        yield _tracking(opened, url)
    elif kind == "db-postgres":
        for url in fresh_postgres_database():
            yield _tracking(opened, url)
            for bus in opened:
                bus.close()
            opened.clear()
    else:
        require_redis()
        yield _tracking(opened, REDIS_URL)
    for bus in opened:
        bus.close()


def _tracking(opened: list[Bus], url: str) -> Opener:
    def open_one(visibility_s: float) -> Bus:
        bus = open_bus(url, visibility_s=visibility_s)
        opened.append(bus)
        return bus

    return open_one


def require_redis() -> None:
    try:
        import redis
    except ImportError:
        unavailable("the redis package is not installed (pip install 'medkb[redis]')")
        return
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is not reachable: {exc}")


def unique_topic() -> str:
    """A topic no other test (or earlier run on the shared Redis) used."""
    return f"test-{uuid.uuid4().hex[:12]}"


def drop_redis_topic(topic: str) -> None:
    """Delete a test topic's streams from the shared Redis."""
    import redis

    from medkb.stream.bus.redis import PREFIX

    client = redis.Redis.from_url(REDIS_URL)
    client.delete(PREFIX + topic, PREFIX + topic + ":dlq")
    client.close()
