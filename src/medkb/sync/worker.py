"""``medkb worker``: drain the outbox in the background (the ``eventual`` and ``batch`` strategies).

One mechanism, two timings (DESIGN "Consistency"):

* ``eventual`` polls every ``interval_s`` and applies whatever is due;
* ``batch`` applies in bulk once ``batch_rows`` rows are due or the oldest due row is
  ``batch_seconds`` old, and otherwise lets them accumulate.

Any number of workers may drain one outbox at once: each apply leases the ids it claims
(``stores.relational.leases``), so no id is applied by two workers at the same time and a
killed worker's ids are taken over once its lease expires. A worker stops after the batch
in hand on :meth:`Worker.stop`, SIGTERM or SIGINT. A vector store that is down is retried
with the outbox's back-off; a row it rejects is parked as ``failed`` and the others go on
(:mod:`medkb.sync.isolate`); a failing relational store is retried after a pause. Given an
``opener``, the worker follows the active collection across ``medkb reembed``
(:mod:`medkb.sync.follow`).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import sqlalchemy as sa

from medkb.config import SyncSettings
from medkb.errors import StoreError
from medkb.redact import redact
from medkb.stores.relational import outbox
from medkb.stores.vector.base import VectorStore
from medkb.sync.apply import Clock, apply_claim, utcnow
from medkb.sync.follow import ActiveStore, Opener
from medkb.sync.verify import age_seconds

log = logging.getLogger(__name__)

Strategy = Literal["eventual", "batch"]
#: Longest pause after repeated errors, in seconds.
MAX_ERROR_PAUSE_S = 5.0


@dataclass
class WorkerStats:
    """What a worker did since it started."""

    strategy: str
    passes: int = 0
    applied: int = 0
    #: Ids the vector store rejected (parked as ``failed``).
    failed: int = 0
    errors: int = 0
    last_error: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return asdict(self)


class Worker:
    """Applies the outbox to the vector store on a timer until stopped.

    ``opener`` opens a collection of the vector store by name; with it the worker checks
    before each claim which collection is active and reopens ``store`` when
    ``medkb reembed`` switched it.
    """

    def __init__(
        self,
        *,
        engine: sa.Engine,
        store: VectorStore,
        settings: SyncSettings,
        strategy: Strategy = "eventual",
        clock: Clock = utcnow,
        name: str | None = None,
        opener: Opener | None = None,
    ) -> None:
        self.engine, self.store, self.settings, self.clock = engine, store, settings, clock
        self.target = ActiveStore(engine, store, opener=opener)
        self.strategy, self.name = strategy, name
        self.stats = WorkerStats(strategy=strategy)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, *, once: bool = False, max_seconds: float | None = None) -> WorkerStats:
        """Poll and apply until stopped (or after one pass with ``once``, which applies
        everything due regardless of the batch thresholds)."""
        started = time.monotonic()
        deadline = None if max_seconds is None else started + max_seconds
        failures = 0
        while not self._stop.is_set():
            failures = 0 if self._pass(force=once) else failures + 1
            if once or (deadline is not None and time.monotonic() >= deadline):
                break
            self._stop.wait(self._pause(failures))
        self.stats.seconds = round(time.monotonic() - started, 3)
        self.target.close()
        return self.stats

    def stop(self) -> None:
        """Ask the worker to stop after the batch in hand."""
        self._stop.set()

    def start(self) -> threading.Thread:
        """Run the worker in a daemon thread of this process; :meth:`close` stops it."""
        self._thread = threading.Thread(target=self.run, name="medkb-sync-worker", daemon=True)
        self._thread.start()
        return self._thread

    def close(self, timeout: float = 30.0) -> None:
        """Stop the worker and wait for its thread, if it runs in one."""
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def handle_signals(self) -> None:
        """Stop gracefully on SIGTERM and SIGINT (call from the main thread)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop())

    def due(self) -> bool:
        """Whether this pass should apply: always in ``eventual``, on a threshold in ``batch``."""
        if self.strategy == "eventual":
            return True
        now = self.clock()
        with self.engine.connect() as conn:
            count, oldest = outbox.due_summary(conn, now=now)
        if count >= self.settings.batch_rows:
            return True
        return oldest is not None and age_seconds(oldest, now) >= self.settings.batch_seconds

    def _pass(self, *, force: bool) -> bool:
        """One poll; False when a store failed (the caller pauses longer)."""
        self.stats.passes += 1
        try:
            if force or self.due():
                self.stats.applied += self._drain()
        except (StoreError, sa.exc.DBAPIError) as exc:
            self.stats.errors += 1
            self.stats.last_error = redact(str(exc))[:500]
            log.warning("sync worker: %s; retrying", self.stats.last_error)
            return False
        return True

    def _drain(self) -> int:
        total = 0
        while not self._stop.is_set():
            found = apply_claim(
                self.engine,
                self.target.current(),
                clock=self.clock,
                limit=self.settings.claim_rows,
                lease_s=self.settings.lease_s,
                worker=self.name,
            )
            if not found.applied and not found.failed:
                break
            total += found.applied
            self.stats.failed += len(found.failed)
        return total

    def _pause(self, failures: int) -> float:
        """The poll interval, doubled per consecutive failure up to a few seconds."""
        if not failures:
            return self.settings.interval_s
        return float(min(self.settings.interval_s * 2.0**failures, MAX_ERROR_PAUSE_S))
