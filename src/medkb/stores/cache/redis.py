"""The answer cache in Redis, shared by every process that writes or answers.

Keys (``P`` the prefix, ``T`` the tenant id quoted, so no tenant can reach into another's
keys):

- ``P answer:T:gen``: the tenant's generation, raised by every new pair; it is part of
  every entry's name, so a new pair orphans the tenant's entries (they expire);
- ``P answer:T:epoch``: raised by every write, the token a ``put`` must present;
- ``P answer:T:G:KEY``: an entry (JSON) of generation ``G``, with a time to live;
- ``P answer:T:pair:ID``: the names of the entries citing pair ``ID``.

Each operation is one Lua script, atomic on the server. After a failure the cache is
skipped for ``retry_s`` seconds (a dead Redis costs one timeout, not one per query).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from medkb.stores.cache.base import Lookup

log = logging.getLogger(__name__)
T = TypeVar("T")

_GET = """
local gen = redis.call('GET', KEYS[1]) or '0'
local epoch = redis.call('GET', KEYS[2]) or '0'
local value = redis.call('GET', ARGV[1] .. gen .. ':' .. ARGV[2])
return {value or false, gen .. ':' .. epoch}
"""

_PUT = """
local gen = redis.call('GET', KEYS[1]) or '0'
local epoch = redis.call('GET', KEYS[2]) or '0'
if gen .. ':' .. epoch ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[4])
local name = ARGV[2] .. gen .. ':' .. ARGV[3]
redis.call('SET', name, ARGV[5], 'EX', ttl)
for i = 6, #ARGV do
  local index = ARGV[2] .. 'pair:' .. ARGV[i]
  redis.call('SADD', index, name)
  redis.call('EXPIRE', index, ttl)
end
return 1
"""

_INVALIDATE = """
redis.call('INCR', KEYS[2])
if ARGV[2] == '1' then redis.call('INCR', KEYS[1]) end
for i = 3, #ARGV do
  local index = ARGV[1] .. 'pair:' .. ARGV[i]
  for _, name in ipairs(redis.call('SMEMBERS', index)) do redis.call('DEL', name) end
  redis.call('DEL', index)
end
return 1
"""


class RedisAnswerCache:
    """Answers in Redis with a time to live; invalidations from any process apply to all."""

    def __init__(
        self,
        client: Any,
        *,
        ttl_s: int,
        prefix: str = "medkb:",
        retry_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.ttl_s, self.prefix = client, ttl_s, prefix
        self.retry_s, self.clock = retry_s, clock
        self._get = client.register_script(_GET)
        self._put = client.register_script(_PUT)
        self._invalidate = client.register_script(_INVALIDATE)
        self._down_until = 0.0
        self._lock = threading.Lock()

    def get(self, tenant_id: str, key: str) -> Lookup:
        base = self._base(tenant_id)
        found = self._call(
            "read", lambda: self._get(keys=[base + "gen", base + "epoch"], args=[base, key])
        )
        if found is None:
            return Lookup(None, None)
        raw, token = found
        answer = json.loads(raw) if raw else None
        return Lookup(answer, token.decode() if isinstance(token, bytes) else str(token))

    def put(
        self,
        tenant_id: str,
        key: str,
        answer: Mapping[str, Any],
        *,
        cites: Collection[str],
        token: str | None,
    ) -> None:
        if token is None:
            return
        base = self._base(tenant_id)
        value = json.dumps(answer, default=str)
        args = [token, base, key, self.ttl_s, value, *(quote(i, safe="") for i in sorted(cites))]
        self._call("store", lambda: self._put(keys=[base + "gen", base + "epoch"], args=args))

    def invalidate(self, tenant_id: str, ids: Collection[str], *, created: bool) -> None:
        base = self._base(tenant_id)
        args = [base, "1" if created else "0", *(quote(i, safe="") for i in sorted(ids))]
        done = self._call(
            "invalidate",
            lambda: self._invalidate(keys=[base + "gen", base + "epoch"], args=args),
            always=True,
        )
        if done is None:
            log.warning(
                "Answers citing %d changed pair(s) may stay cached up to %d s "
                "(MEDKB_CACHE__TTL_S): Redis could not drop them.",
                len(ids),
                self.ttl_s,
            )

    def close(self) -> None:
        self.client.close()

    def _base(self, tenant_id: str) -> str:
        return f"{self.prefix}answer:{quote(tenant_id, safe='')}:"

    def _call(self, what: str, work: Callable[[], T], *, always: bool = False) -> T | None:
        """Run ``work``; on a Redis failure log a warning, skip the cache a while, None."""
        if not always and self.clock() < self._down_until:
            return None
        try:
            return work()
        except Exception as exc:  # redis.RedisError and socket errors; driver imported lazily
            with self._lock:
                self._down_until = self.clock() + self.retry_s
            log.warning(
                "The answer cache could not %s (Redis: %s); answering without it for %g s. "
                "Check MEDKB_REDIS_URL and that Redis is running.",
                what,
                exc,
                self.retry_s,
            )
            return None
