"""What one running API process holds: the shared knowledge base, tenant views, the
guards (rate limits, idempotency), circuit breakers, metrics and the ingestion job runner."""

from __future__ import annotations

import threading
from typing import Any

from medkb.api.idempotency import IdempotencyStore, MemoryIdempotencyStore, RedisIdempotencyStore
from medkb.api.jobs import JobRunner
from medkb.api.metrics import Metrics
from medkb.api.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from medkb.app import KnowledgeBase, guard_dependencies
from medkb.config import Settings, reveal
from medkb.errors import missing_dependency
from medkb.stores.relational import outbox


class Service:
    """The API's parts, built once at startup and closed at shutdown."""

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        auth: bool = True,
        redis_prefix: str = "medkb:",
        limiter: RateLimiter | None = None,
        idempotency: IdempotencyStore | None = None,
    ) -> None:
        self.kb, self.settings, self.auth = kb, kb.settings, auth
        # Tenant views reach the vector store, embedder, object store and LLM endpoint
        # through one breaker each, shared by every tenant: a dead dependency fails
        # requests fast (503 circuit_open) instead of making each wait for its time-out.
        self.guarded, self.breakers = guard_dependencies(kb)
        self._views: dict[str, KnowledgeBase] = {}
        self._lock = threading.Lock()
        self.redis = redis_client(kb.settings)
        self.limiter = limiter or make_limiter(kb.settings, self.redis, redis_prefix)
        self.idempotency = idempotency or make_idempotency(kb.settings, self.redis, redis_prefix)
        self.metrics = Metrics(outbox_depth=self._outbox_depth, breakers=self.breakers)
        self.jobs = JobRunner(
            engine=kb.engine,
            upload_dir=kb.settings.home / "uploads",
            view=self.view,
            on_done=lambda report: self.metrics.ingested.inc(
                int(report.get("created", 0)) + int(report.get("updated", 0))
            ),
        )

    def view(self, tenant_id: str) -> KnowledgeBase:
        """``tenant_id``'s view of the knowledge base, made once and shared by requests.

        Callers must not close it: views live until :meth:`close`.
        """
        with self._lock:
            found = self._views.get(tenant_id)
            if found is None:
                found = self.guarded.for_tenant(tenant_id)
                # Its lazy parts are made here, under the lock: request threads share the
                # view, and two threads making them at once would each build their own.
                _ = (found.writer, found.ingestor, found.searcher)
                self._views[tenant_id] = found
            return found

    def close(self) -> None:
        """Finish background jobs, then release every view, the stores and Redis."""
        self.jobs.close()
        for view in self._views.values():
            view.close()
        self.limiter.close()
        self.idempotency.close()
        self.kb.close()

    def _outbox_depth(self) -> float:
        with self.kb.engine.connect() as conn:
            return float(outbox.pending_count(conn))


def redis_client(settings: Settings) -> Any:
    """A Redis client for ``MEDKB_REDIS_URL``, or None when it is unset."""
    url = reveal(settings.redis_url)
    if not url:
        return None
    try:
        import redis
    except ImportError as exc:
        raise missing_dependency("redis", "redis", "MEDKB_REDIS_URL") from exc
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def make_limiter(settings: Settings, client: Any, prefix: str) -> RateLimiter:
    """Redis token buckets when Redis is configured, else in-process ones."""
    api = settings.api
    if client is not None:
        return RedisRateLimiter(client, rate=api.rate_per_s, burst=api.rate_burst, prefix=prefix)
    return MemoryRateLimiter(rate=api.rate_per_s, burst=api.rate_burst)


def make_idempotency(settings: Settings, client: Any, prefix: str) -> IdempotencyStore:
    """Redis-backed idempotency keys when Redis is configured, else in-process ones."""
    ttl = settings.api.idempotency_ttl_s
    if client is not None:
        return RedisIdempotencyStore(client, ttl_s=ttl, prefix=prefix)
    return MemoryIdempotencyStore(ttl_s=ttl)
