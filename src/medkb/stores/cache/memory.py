"""The answer cache in this process: a least-recently-used map with a time to live.

Used when ``MEDKB_REDIS_URL`` is unset (one server process, the CLI, tests). Writes made
by another process do not reach it; the time to live bounds how stale it can get then.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Collection, Mapping
from typing import Any

from medkb.stores.cache.base import Lookup

#: (tenant id, cache key) of an entry, or (tenant id, pair id) of an index row.
Name = tuple[str, str]


class MemoryAnswerCache:
    """At most ``max_entries`` answers, each kept ``ttl_s`` seconds."""

    def __init__(
        self, *, max_entries: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries, self.ttl_s, self.clock = max_entries, ttl_s, clock
        self._entries: OrderedDict[Name, tuple[float, dict[str, Any], frozenset[str]]] = (
            OrderedDict()
        )
        self._citing: dict[Name, set[Name]] = defaultdict(set)
        self._epochs: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def get(self, tenant_id: str, key: str) -> Lookup:
        with self._lock:
            token = str(self._epochs[tenant_id])
            found = self._entries.get((tenant_id, key))
            if found is None or found[0] <= self.clock():
                return Lookup(None, token)
            self._entries.move_to_end((tenant_id, key))
            return Lookup(found[1], token)

    def put(
        self,
        tenant_id: str,
        key: str,
        answer: Mapping[str, Any],
        *,
        cites: Collection[str],
        token: str | None,
    ) -> None:
        with self._lock:
            if token is None or token != str(self._epochs[tenant_id]):
                return  # a write happened while the answer was being composed
            name = (tenant_id, key)
            self._drop(name)
            self._entries[name] = (self.clock() + self.ttl_s, dict(answer), frozenset(cites))
            for qa_id in cites:
                self._citing[(tenant_id, qa_id)].add(name)
            while len(self._entries) > self.max_entries:
                self._drop(next(iter(self._entries)))

    def invalidate(self, tenant_id: str, ids: Collection[str], *, created: bool) -> None:
        with self._lock:
            self._epochs[tenant_id] += 1
            if created:
                for name in [n for n in self._entries if n[0] == tenant_id]:
                    self._drop(name)
                return
            for qa_id in ids:
                for name in self._citing.pop((tenant_id, qa_id), set()):
                    self._drop(name)

    def _drop(self, name: Name) -> None:
        """Remove an entry and its index rows (the lock is held)."""
        found = self._entries.pop(name, None)
        if found is None:
            return
        for qa_id in found[2]:
            index = self._citing.get((name[0], qa_id))
            if index is not None:
                index.discard(name)
                if not index:
                    del self._citing[(name[0], qa_id)]

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
            self._citing.clear()
