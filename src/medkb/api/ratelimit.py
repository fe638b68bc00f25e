"""Per-key rate limits: a token bucket, kept in Redis (shared by every process) or in this
process. One Protocol, two backends; ``tests/contract/test_api_guards.py`` runs both."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)


class RateLimiter(Protocol):
    """Hands out one token per request, ``rate`` per second, at most ``burst`` saved up."""

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when the request may go on, else the seconds to
        wait before one is free."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class MemoryRateLimiter:
    """Token buckets in this process (one server process: ``--workers 1``)."""

    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
        return wait

    def close(self) -> None:
        self._buckets.clear()


#: Refill, take and store the bucket in one atomic step, on Redis's clock (processes on
#: different machines share one time source).
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisRateLimiter:
    """Token buckets in Redis, so every server process counts against one bucket per key.

    While Redis fails, each process counts a key's requests in its own buckets instead:
    limits stay in force (per process) and questions are still answered; ``/health/redis``
    and readiness show the outage.
    """

    def __init__(self, client: Any, *, rate: float, burst: int, prefix: str = "medkb:") -> None:
        self.client, self.rate, self.burst, self.prefix = client, rate, burst, prefix
        self._script = client.register_script(_TAKE)
        self.fallback = MemoryRateLimiter(rate=rate, burst=burst)

    def take(self, key: str) -> float:
        try:
            wait = self._script(keys=[f"{self.prefix}rate:{key}"], args=[self.rate, self.burst])
        except Exception as exc:  # redis.RedisError; the driver is imported lazily
            log.warning(
                "Redis failed while checking a rate limit (%s); this process counts the "
                "key's requests on its own until Redis answers. Check MEDKB_REDIS_URL.",
                type(exc).__name__,
            )
            return self.fallback.take(key)
        return float(wait)

    def close(self) -> None:
        self.client.close()
