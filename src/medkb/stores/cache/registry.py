"""Choose the answer cache the settings describe: Redis when ``MEDKB_REDIS_URL`` is set,
this process's memory otherwise, none when ``MEDKB_CACHE__ANSWERS=false``."""

from __future__ import annotations

from medkb.config import Settings, reveal
from medkb.errors import missing_dependency
from medkb.stores.cache.base import AnswerCache
from medkb.stores.cache.memory import MemoryAnswerCache
from medkb.stores.cache.redis import RedisAnswerCache


def open_answer_cache(settings: Settings) -> AnswerCache | None:
    """The answer cache for ``settings``, or None when answers are not cached."""
    cache = settings.cache
    if not cache.answers:
        return None
    url = reveal(settings.redis_url)
    if not url:
        return MemoryAnswerCache(max_entries=cache.max_entries, ttl_s=cache.ttl_s)
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError as exc:
        raise missing_dependency("redis", "redis", "MEDKB_REDIS_URL") from exc
    # No retries: a cache that is down is skipped, not waited for (redis-py retries 3 times).
    client = redis.Redis.from_url(
        url, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
    )
    return RedisAnswerCache(client, ttl_s=cache.ttl_s, prefix=cache.redis_prefix)
