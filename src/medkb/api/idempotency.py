"""``Idempotency-Key`` on POST: a repeated request with the same key and body gets the
first answer again and writes nothing; the same key with another body is refused.

Kept in Redis (every process sees every key) or in this process. A key is reserved
before the work starts, so two identical requests racing each other run the work once:
the second is told the first is still in progress (409) and gets the stored answer when
it retries.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from medkb.errors import StoreError

State = Literal["new", "replay", "mismatch", "busy"]


@dataclass(frozen=True)
class Outcome:
    """What to do with a request: ``new`` (do the work), ``replay`` (send ``status`` and
    ``body`` again), ``mismatch`` (key reused for another body), ``busy`` (in progress)."""

    state: State
    status: int = 0
    body: Any = None


class IdempotencyStore(Protocol):
    """Remembers each key's request fingerprint and, once done, its answer."""

    def begin(self, key: str, fingerprint: str) -> Outcome:
        """Reserve ``key`` for a request with ``fingerprint``, or say what happened to it."""
        ...

    def finish(self, key: str, fingerprint: str, status: int, body: Any) -> None:
        """Store the answer of the request that reserved ``key``."""
        ...

    def abandon(self, key: str) -> None:
        """Free ``key`` after the work failed, so the client may retry it."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def _outcome(entry: dict[str, Any], fingerprint: str) -> Outcome:
    if entry.get("fp") != fingerprint:
        return Outcome("mismatch")
    if "status" in entry:
        return Outcome("replay", status=int(entry["status"]), body=entry["body"])
    return Outcome("busy")


class MemoryIdempotencyStore:
    """Keys in this process (one server process: ``--workers 1``)."""

    def __init__(self, *, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.clock = ttl_s, clock
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def begin(self, key: str, fingerprint: str) -> Outcome:
        now = self.clock()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] > now:
                return _outcome(found[1], fingerprint)
            self._entries[key] = (now + self.ttl_s, {"fp": fingerprint})
            self._expire(now)
        return Outcome("new")

    def finish(self, key: str, fingerprint: str, status: int, body: Any) -> None:
        entry = {"fp": fingerprint, "status": status, "body": body}
        with self._lock:
            self._entries[key] = (self.clock() + self.ttl_s, entry)

    def abandon(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def close(self) -> None:
        self._entries.clear()

    def _expire(self, now: float) -> None:
        for key in [k for k, (until, _) in self._entries.items() if until <= now]:
            del self._entries[key]


class RedisIdempotencyStore:
    """Keys in Redis with a time to live, shared by every server process."""

    def __init__(self, client: Any, *, ttl_s: int, prefix: str = "medkb:") -> None:
        self.client, self.ttl_s, self.prefix = client, ttl_s, prefix

    def begin(self, key: str, fingerprint: str) -> Outcome:
        name = self._name(key)
        try:
            for _attempt in range(3):
                if self.client.set(name, json.dumps({"fp": fingerprint}), nx=True, ex=self.ttl_s):
                    return Outcome("new")
                raw = self.client.get(name)
                if raw is not None:
                    return _outcome(json.loads(raw), fingerprint)
        except Exception as exc:  # redis.RedisError
            raise self._error(exc) from exc
        return Outcome("busy")  # reserved and expired three times over: let the client retry

    def finish(self, key: str, fingerprint: str, status: int, body: Any) -> None:
        entry = json.dumps({"fp": fingerprint, "status": status, "body": body}, default=str)
        try:
            self.client.set(self._name(key), entry, ex=self.ttl_s)
        except Exception as exc:
            raise self._error(exc) from exc

    def abandon(self, key: str) -> None:
        try:
            self.client.delete(self._name(key))
        except Exception as exc:
            raise self._error(exc) from exc

    def close(self) -> None:
        self.client.close()

    def _name(self, key: str) -> str:
        return f"{self.prefix}idem:{key}"

    @staticmethod
    def _error(exc: Exception) -> StoreError:
        return StoreError(
            f"Redis failed while handling an Idempotency-Key: {exc}. Check MEDKB_REDIS_URL "
            "and that Redis is running."
        )
