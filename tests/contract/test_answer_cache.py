"""One contract for the answer cache, run on both backends: in-process and Redis.

Redis tests use the machine's Redis (127.0.0.1:6379) with a key prefix of their own.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from medkb.stores.cache.base import AnswerCache, answer_key, cited_ids
from medkb.stores.cache.memory import MemoryAnswerCache
from medkb.stores.cache.redis import RedisAnswerCache
from tests.contract.test_api_guards import _cleanup, _redis
from tests.fixtures_servers import free_port

ANSWER = {
    "answer": "Rest [1].",
    "citations": [{"number": 1, "id": "qa-1"}],
    "hits": [{"id": "qa-1", "score": 0.9, "relations": [{"target_id": "qa-3"}]}],
    "graph": [{"nodes": ["qa-1", "qa-2"]}],
}


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest) -> Iterator[AnswerCache]:
    if request.param == "memory":
        yield MemoryAnswerCache(max_entries=100, ttl_s=60)
        return
    client, prefix = _redis(), f"medkb-test-{uuid.uuid4().hex}:"
    yield RedisAnswerCache(client, ttl_s=60, prefix=prefix)
    _cleanup(client, prefix)
    client.close()


def _store(cache: AnswerCache, tenant: str, key: str, answer: dict[str, Any] = ANSWER) -> None:
    found = cache.get(tenant, key)
    assert found.answer is None and found.token is not None
    cache.put(tenant, key, answer, cites=cited_ids(answer), token=found.token)


def test_a_stored_answer_is_found_again(cache: AnswerCache) -> None:
    _store(cache, "t", "k")
    assert cache.get("t", "k").answer == ANSWER
    assert cache.get("t", "other").answer is None


def test_an_answer_is_dropped_when_any_pair_it_cites_or_returns_changes(
    cache: AnswerCache,
) -> None:
    _store(cache, "t", "unrelated", {"hits": [{"id": "qa-9", "score": 1.0}]})
    for changed in ("qa-1", "qa-2", "qa-3"):
        _store(cache, "t", "k")
        cache.invalidate("t", {changed}, created=False)
        assert cache.get("t", "k").answer is None, changed
        assert cache.get("t", "unrelated").answer is not None


def test_a_new_pair_drops_every_answer_of_its_tenant_only(cache: AnswerCache) -> None:
    _store(cache, "t", "k")
    _store(cache, "other", "k")
    cache.invalidate("t", {"qa-new"}, created=True)
    assert cache.get("t", "k").answer is None
    assert cache.get("other", "k").answer == ANSWER
    _store(cache, "t", "k")  # and the tenant caches again afterwards
    assert cache.get("t", "k").answer == ANSWER


def test_tenants_never_share_answers_or_invalidations(cache: AnswerCache) -> None:
    _store(cache, "tenant-a", "k")
    assert cache.get("tenant-b", "k").answer is None
    cache.invalidate("tenant-b", {"qa-1"}, created=False)
    assert cache.get("tenant-a", "k").answer == ANSWER
    # A tenant id holding the separator cannot reach into another tenant's keys.
    _store(cache, "a", "k")
    assert cache.get("a:pair", "k").answer is None


def test_an_answer_composed_while_a_write_happened_is_not_stored(cache: AnswerCache) -> None:
    found = cache.get("t", "k")
    cache.invalidate("t", {"qa-7"}, created=False)  # a write lands mid-query
    cache.put("t", "k", ANSWER, cites=cited_ids(ANSWER), token=found.token)
    assert cache.get("t", "k").answer is None


def test_the_key_covers_question_options_and_model_but_not_order() -> None:
    base = answer_key("fever", {"top_k": 5, "filters": {"category": ["a"]}}, "static")
    assert base == answer_key("fever", {"filters": {"category": ["a"]}, "top_k": 5}, "static")
    assert base != answer_key("fever?", {"top_k": 5, "filters": {"category": ["a"]}}, "static")
    assert base != answer_key("fever", {"top_k": 6, "filters": {"category": ["a"]}}, "static")
    assert base != answer_key("fever", {"top_k": 5, "filters": {"category": ["a"]}}, "minilm")


def test_the_memory_cache_forgets_the_least_recently_used_and_the_expired() -> None:
    now = [0.0]
    cache = MemoryAnswerCache(max_entries=2, ttl_s=10, clock=lambda: now[0])
    for key in ("a", "b"):
        _store(cache, "t", key)
    assert cache.get("t", "a").answer is not None  # "b" is now the least recently used
    _store(cache, "t", "c")
    assert cache.get("t", "b").answer is None
    assert cache.get("t", "a").answer is not None
    now[0] = 11.0
    assert cache.get("t", "a").answer is None


def test_an_unreachable_redis_is_a_logged_miss_never_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redis = pytest.importorskip("redis")
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis(port=free_port(), socket_timeout=1, retry=Retry(NoBackoff(), 0))
    cache = RedisAnswerCache(client, ttl_s=60, prefix="medkb-test-down:")
    with caplog.at_level(logging.WARNING, logger="medkb.stores.cache.redis"):
        found = cache.get("t", "k")
        cache.put("t", "k", ANSWER, cites={"qa-1"}, token="0:0")
        cache.invalidate("t", {"qa-1"}, created=False)
    assert found.answer is None and found.token is None
    assert "MEDKB_REDIS_URL" in caplog.text
    assert "may stay cached" in caplog.text
    cache.close()
