"""The ``Bus`` Protocol: topics of raw events, read by consumer groups, at least once.

Every backend gives the same guarantees (``tests/contract/test_bus.py``):

- a published event is delivered to one consumer of each group that reads its topic;
- a delivered event that is not acked within the bus's visibility time (the consumer died,
  hung or gave up) is delivered again, to any consumer of the group, with ``attempts``
  counting its deliveries;
- two consumers of one group never hold the same event at once;
- :meth:`Bus.dead_letter` parks an event with its reason and origin and acks it, so the
  topic keeps flowing; dead letters are listed, read and removed per topic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Message:
    """One delivery of an event: the bus's id for it, the raw body and its delivery count."""

    id: str
    body: str
    attempts: int = 1


@dataclass(frozen=True)
class DeadLetter:
    """An event that could not be applied, with why and where it came from."""

    id: str
    topic: str
    group: str
    reason: str
    payload: str
    origin: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Bus(Protocol):
    """A topic-based event bus with consumer groups and dead letters."""

    #: The URL it was opened with, with any password masked.
    url: str

    def publish(self, topic: str, bodies: list[str]) -> list[str]:
        """Append events to ``topic``; return their bus ids, in order."""
        ...

    def consume(
        self, topic: str, *, group: str, consumer: str, count: int, block_s: float = 0.0
    ) -> list[Message]:
        """Up to ``count`` events for ``consumer`` of ``group``: deliveries whose visibility
        time ran out first, then new events (waiting up to ``block_s`` when none)."""
        ...

    def ack(self, topic: str, *, group: str, ids: list[str]) -> None:
        """Mark deliveries done for ``group``; they are never delivered to it again."""
        ...

    def dead_letter(
        self, topic: str, *, group: str, message: Message, reason: str, origin: dict[str, Any]
    ) -> None:
        """Park ``message`` as a dead letter of ``topic`` with ``reason``, and ack it."""
        ...

    def dead_letters(self, topic: str, *, limit: int = 100) -> list[DeadLetter]:
        """The dead letters of ``topic``, oldest first."""
        ...

    def count_dead_letters(self, topic: str) -> int:
        """How many dead letters ``topic`` holds (without reading them)."""
        ...

    def remove_dead_letter(self, topic: str, dead_id: str) -> bool:
        """Delete one dead letter (after a replay); False when it was not there."""
        ...

    def ping(self) -> None:
        """Raise :class:`~medkb.errors.StoreError` unless the bus answers."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class Prunable(Protocol):
    """A bus that keeps acked events until it is told to delete them (the ``db`` bus;
    Kafka and Redis Streams have retention of their own)."""

    def prune(self, topic: str, *, older_than_s: float, limit: int = 1000) -> int:
        """Delete up to ``limit`` events of ``topic`` published more than ``older_than_s``
        seconds ago that every group holding a claim on them has acked; how many."""
        ...
