"""One contract for each API guard Protocol, run on every backend: in-process and Redis.

Redis tests use the machine's Redis (127.0.0.1:6379) with a key prefix of their own.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from medkb.api.idempotency import IdempotencyStore, MemoryIdempotencyStore, RedisIdempotencyStore
from medkb.api.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from tests.services import unavailable

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis() -> Any:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is not reachable: {exc}")
    return client


def _cleanup(client: Any, prefix: str) -> None:
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> Iterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter(rate=2.0, burst=3)
        return
    client, prefix = _redis(), f"medkb-test-{uuid.uuid4().hex}:"
    yield RedisRateLimiter(client, rate=2.0, burst=3, prefix=prefix)
    _cleanup(client, prefix)
    client.close()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[IdempotencyStore]:
    if request.param == "memory":
        yield MemoryIdempotencyStore(ttl_s=60)
        return
    client, prefix = _redis(), f"medkb-test-{uuid.uuid4().hex}:"
    yield RedisIdempotencyStore(client, ttl_s=60, prefix=prefix)
    _cleanup(client, prefix)
    client.close()


def test_a_burst_passes_then_the_next_request_waits(limiter: RateLimiter) -> None:
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("k")
    assert 0 < wait <= 0.5 + 0.05


def test_buckets_are_per_key(limiter: RateLimiter) -> None:
    for _ in range(3):
        limiter.take("one")
    assert limiter.take("one") > 0
    assert limiter.take("two") == 0.0


def test_tokens_come_back_at_the_rate(limiter: RateLimiter) -> None:
    for _ in range(3):
        limiter.take("k")
    assert limiter.take("k") > 0
    time.sleep(0.6)  # 2 per second: at least one token is back
    assert limiter.take("k") == 0.0


def test_concurrent_takes_never_exceed_the_burst(limiter: RateLimiter) -> None:
    results: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        wait = limiter.take("shared")
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=take) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for w in results if w == 0.0) == 3


def test_a_new_key_is_reserved_then_replayed(store: IdempotencyStore) -> None:
    assert store.begin("t:k1", "fp").state == "new"
    assert store.begin("t:k1", "fp").state == "busy"
    store.finish("t:k1", "fp", 201, {"id": "qa-1"})
    replay = store.begin("t:k1", "fp")
    assert (replay.state, replay.status, replay.body) == ("replay", 201, {"id": "qa-1"})


def test_the_same_key_with_another_body_is_a_mismatch(store: IdempotencyStore) -> None:
    store.begin("t:k2", "fp-a")
    store.finish("t:k2", "fp-a", 200, {})
    assert store.begin("t:k2", "fp-b").state == "mismatch"


def test_an_abandoned_key_can_be_used_again(store: IdempotencyStore) -> None:
    store.begin("t:k3", "fp")
    store.abandon("t:k3")
    assert store.begin("t:k3", "fp").state == "new"


def test_racing_requests_reserve_a_key_once(store: IdempotencyStore) -> None:
    states: list[str] = []
    lock = threading.Lock()

    def begin() -> None:
        state = store.begin("t:race", "fp").state
        with lock:
            states.append(state)

    threads = [threading.Thread(target=begin) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(states) == ["busy"] * 9 + ["new"]
