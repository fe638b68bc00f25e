"""The stream worker: consume events in batches, apply them, ack after the stores commit.

One pass (:meth:`StreamWorker.step`):

1. while a dependency's circuit is open, take nothing: the events wait on the bus;
2. take up to ``batch_size`` deliveries for this worker from the group;
3. dead-letter the ones delivered more than ``max_deliveries`` times (they kept killing or
   failing their workers) and the ones that are not valid events, with the reason, the
   original body and where they came from;
4. apply the valid ones (:class:`~medkb.stream.apply.Applier`); dead-letter the events
   the knowledge base refuses (a too-long field, an unknown query log id);
5. ack the applied, skipped and dead-lettered deliveries — only after their writes have
   committed. When applying fails for a dependency (after its retries; see
   :mod:`medkb.resilience`), nothing is acked: the bus delivers the batch again after
   its visibility time, to this worker or another.

When the bus itself fails (a broker restarting), the worker counts the error, waits and
asks again; it does not exit. SIGTERM / SIGINT stop the worker after the batch in hand.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from medkb.config import StreamSettings
from medkb.errors import StoreError
from medkb.resilience.breaker import CircuitBreaker, State
from medkb.stream.apply import Applier
from medkb.stream.bus.base import Bus, Message, Prunable
from medkb.stream.events import Event, InvalidEvent, parse_event

if TYPE_CHECKING:
    from medkb.app import KnowledgeBase

log = logging.getLogger(__name__)

#: Seconds a worker waits before asking a bus that failed again.
BUS_RETRY_S = 0.5


@dataclass
class StreamStats:
    """What a worker did."""

    consumed: int = 0
    applied: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    batches: int = 0
    errors: int = 0
    circuit_waits: int = 0
    pruned: int = 0
    seconds: float = 0.0
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class StreamWorker:
    """Consumes ``topic`` as ``name`` in ``group`` and writes through ``kb``."""

    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        bus: Bus,
        topic: str,
        group: str,
        settings: StreamSettings,
        breakers: dict[str, CircuitBreaker] | None = None,
        name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.kb, self.bus, self.topic, self.group = kb, bus, topic, group
        self.settings, self.breakers = settings, breakers or {}
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.applier = Applier(kb)
        self.stats = StreamStats()
        self._sleep = sleep
        self._stop = threading.Event()
        self._next_prune = 0.0

    def run(self, *, max_seconds: float | None = None, until_idle: bool = False) -> StreamStats:
        """Consume until stopped, ``max_seconds`` passed, or (``until_idle``) the bus is empty."""
        started = time.monotonic()
        while not self._stop.is_set():
            taken = self.step()
            if until_idle and taken == 0 and not self._circuit_open():
                break
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
        self.stats.seconds = time.monotonic() - started
        return self.stats

    def stop(self) -> None:
        """Finish the batch in hand, then return from :meth:`run`."""
        self._stop.set()

    def handle_signals(self) -> None:
        """Stop gracefully on SIGTERM and SIGINT (main thread only)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop())

    def step(self) -> int:
        """One batch; returns how many deliveries it took (0 while a circuit is open)."""
        self._prune_when_due()
        wait = self._circuit_wait()
        if wait > 0:
            self.stats.circuit_waits += 1
            self._stop.wait(min(wait, max(self.settings.block_s, 0.05)))
            return 0
        try:
            messages = self.bus.consume(
                self.topic,
                group=self.group,
                consumer=self.name,
                count=self.settings.batch_size,
                block_s=self.settings.block_s,
            )
            if messages:
                self._handle(messages)
        except StoreError as exc:  # the bus is down: what it holds waits for us
            self._bus_failed(exc)
            return 0
        return len(messages)

    def _prune_when_due(self) -> None:
        """Every ``prune_every_s``, delete the topic's acked events past ``retention_s``
        (on a bus that keeps them: the ``db`` bus)."""
        retention = self.settings.retention_s
        if not retention or not isinstance(self.bus, Prunable):
            return
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + self.settings.prune_every_s
        try:
            self.stats.pruned += self.bus.prune(self.topic, older_than_s=retention)
        except StoreError as exc:
            log.warning("pruning the bus failed (retried later): %s", exc)

    def _bus_failed(self, exc: StoreError) -> None:
        """Count and log a bus failure, then pause before asking the bus again.

        A failed ack is safe too: the events were applied and are delivered again later,
        and their ids make the second application a no-op.
        """
        self.stats.errors += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        log.warning("bus unavailable, retrying: %s", exc)
        self._stop.wait(max(self.settings.block_s, BUS_RETRY_S))

    def _handle(self, messages: list[Message]) -> None:
        self.stats.consumed += len(messages)
        self.stats.batches += 1
        events: list[tuple[Message, Event]] = []
        for message in messages:
            event = self._admit(message)
            if event is not None:
                events.append((message, event))
        if not events:
            return
        try:
            report = self.applier.apply([event for _m, event in events])
        except Exception as exc:  # a dependency failed: leave the batch on the bus
            self.stats.errors += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("batch left on the bus: %s", self.stats.last_error)
            return
        for message, event in events:
            reason = report.rejected.get(event.id)
            if reason is not None:
                self._dead_letter(message, reason, event_id=event.id)
        done = [m.id for m, e in events if e.id not in report.rejected]
        self.bus.ack(self.topic, group=self.group, ids=done)
        self.stats.applied += len(report.applied)
        self.stats.skipped += len(report.skipped)

    def _admit(self, message: Message) -> Event | None:
        """The message's event, or None once it is dead-lettered."""
        if message.attempts > self.settings.max_deliveries:
            self._dead_letter(
                message,
                f"Delivered {message.attempts} times without being applied (over "
                f"MEDKB_STREAM__MAX_DELIVERIES={self.settings.max_deliveries}): it kept "
                "failing or killing its workers.",
            )
            return None
        try:
            return parse_event(message.body)
        except InvalidEvent as exc:
            self._dead_letter(message, str(exc))
            return None

    def _dead_letter(self, message: Message, reason: str, *, event_id: str | None = None) -> None:
        origin = {
            "bus": self.bus.url,
            "topic": self.topic,
            "group": self.group,
            "consumer": self.name,
            "bus_id": message.id,
            "attempts": message.attempts,
            "event_id": event_id,
        }
        self.bus.dead_letter(
            self.topic, group=self.group, message=message, reason=reason, origin=origin
        )
        self.stats.dead_lettered += 1

    def _circuit_open(self) -> bool:
        return any(b.state is State.OPEN for b in self.breakers.values())

    def _circuit_wait(self) -> float:
        return max((b.retry_after() for b in self.breakers.values()), default=0.0)

    def health(self) -> dict[str, Any]:
        """Breaker states and counters, for ``/health`` and logs."""
        return {
            "breakers": {name: b.state.value for name, b in self.breakers.items()},
            "stats": self.stats.to_dict(),
        }
