"""The ``redis`` bus: one Redis Stream per topic, read through consumer groups.

``medkb:stream:<topic>`` holds the events; each worker group is a Redis consumer group.
A consumer first takes over deliveries idle longer than the visibility time
(``XAUTOCLAIM`` — their consumer died or hung), then reads new events (``XREADGROUP >``).
Redis counts deliveries per pending entry, which becomes ``Message.attempts``. Dead
letters go to ``medkb:stream:<topic>:dlq`` in the same ``MULTI`` as the ``XACK``.
"""

from __future__ import annotations

import json
from typing import Any

from medkb.errors import StoreError, missing_dependency
from medkb.redact import mask_url
from medkb.stream.bus.base import DeadLetter, Message
from medkb.sync.apply import utcnow

PREFIX = "medkb:stream:"


class RedisBus:
    """A :class:`~medkb.stream.bus.base.Bus` on Redis Streams (Redis 6.2+ for XAUTOCLAIM)."""

    def __init__(self, url: str, *, visibility_s: float = 30.0) -> None:
        try:
            import redis
        except ImportError as exc:
            raise missing_dependency("redis", "redis", "The redis event bus") from exc
        self._redis: Any = redis
        self.url = mask_url(url)
        # Any: redis-py's stubs type replies as bytes | str | None even with decoded replies.
        self.client: Any = redis.Redis.from_url(url, decode_responses=True)
        self.visibility_ms = max(int(visibility_s * 1000), 1)
        self._groups: set[tuple[str, str]] = set()

    def publish(self, topic: str, bodies: list[str]) -> list[str]:
        """XADD each event, in one pipeline."""
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            for body in bodies:
                pipe.xadd(PREFIX + topic, {"body": body})
            return [str(i) for i in pipe.execute()]

    def consume(
        self, topic: str, *, group: str, consumer: str, count: int, block_s: float = 0.0
    ) -> list[Message]:
        """Expired deliveries first (XAUTOCLAIM), then new events (XREADGROUP)."""
        key = PREFIX + topic
        with self._errors():
            self._ensure_group(key, group)
            messages = self._reclaim(key, group, consumer, count)
            if len(messages) < count:
                messages += self._read_new(key, group, consumer, count - len(messages), block_s)
        return messages

    def _ensure_group(self, key: str, group: str) -> None:
        if (key, group) in self._groups:
            return
        try:
            self.client.xgroup_create(key, group, id="0", mkstream=True)
        except self._redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add((key, group))

    def _reclaim(self, key: str, group: str, consumer: str, count: int) -> list[Message]:
        reply = self.client.xautoclaim(
            key, group, consumer, min_idle_time=self.visibility_ms, start_id="0-0", count=count
        )
        claimed = [(i, fields) for i, fields in reply[1] if fields]
        if not claimed:
            return []
        pending = self.client.xpending_range(
            key, group, min=claimed[0][0], max=claimed[-1][0], count=len(claimed) * 4 + 16
        )
        attempts = {p["message_id"]: int(p["times_delivered"]) for p in pending}
        return [Message(i, fields["body"], attempts.get(i, 2)) for i, fields in claimed]

    def _read_new(
        self, key: str, group: str, consumer: str, count: int, block_s: float
    ) -> list[Message]:
        block = int(block_s * 1000) or None  # 0 would block forever in Redis
        reply = self.client.xreadgroup(group, consumer, {key: ">"}, count=count, block=block)
        return [
            Message(i, fields["body"], 1) for _key, entries in reply or [] for i, fields in entries
        ]

    def ack(self, topic: str, *, group: str, ids: list[str]) -> None:
        """XACK the deliveries."""
        if ids:
            with self._errors():
                self.client.xack(PREFIX + topic, group, *ids)

    def dead_letter(
        self, topic: str, *, group: str, message: Message, reason: str, origin: dict[str, Any]
    ) -> None:
        """XADD to the topic's dead-letter stream and XACK, in one MULTI."""
        entry = {
            "topic": topic,
            "group": group,
            "reason": reason,
            "payload": message.body,
            "origin": json.dumps(origin),
            "created_at": utcnow().isoformat(),
        }
        with self._errors():
            pipe = self.client.pipeline(transaction=True)
            pipe.xadd(PREFIX + topic + ":dlq", entry)
            pipe.xack(PREFIX + topic, group, message.id)
            pipe.execute()

    def dead_letters(self, topic: str, *, limit: int = 100) -> list[DeadLetter]:
        """XRANGE over the dead-letter stream."""
        with self._errors():
            entries = self.client.xrange(PREFIX + topic + ":dlq", "-", "+", count=limit)
        return [
            DeadLetter(
                id=i,
                topic=f["topic"],
                group=f["group"],
                reason=f["reason"],
                payload=f["payload"],
                origin=json.loads(f["origin"]),
                created_at=f["created_at"],
            )
            for i, f in entries
        ]

    def count_dead_letters(self, topic: str) -> int:
        """XLEN of the dead-letter stream (0 when it does not exist)."""
        with self._errors():
            return int(self.client.xlen(PREFIX + topic + ":dlq"))

    def remove_dead_letter(self, topic: str, dead_id: str) -> bool:
        """XDEL one dead letter."""
        with self._errors():
            try:
                return bool(self.client.xdel(PREFIX + topic + ":dlq", dead_id))
            except self._redis.ResponseError:
                return False  # not a stream id

    def ping(self) -> None:
        """PING."""
        with self._errors():
            self.client.ping()

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def _errors(self) -> _Translate:
        return _Translate(self._redis, self.url)


class _Translate:
    """Redis connection errors become :class:`StoreError` naming the bus and what to do."""

    def __init__(self, module: Any, url: str) -> None:
        self.module, self.url = module, url

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, _tb: Any) -> None:
        if exc is not None and isinstance(
            exc, self.module.ConnectionError | self.module.TimeoutError
        ):
            raise StoreError(
                f"The redis bus at {self.url} is unreachable ({exc}). Start Redis or fix "
                "--bus; unacked events stay on the stream."
            ) from exc
