"""A circuit breaker: stop calling a dependency that keeps failing, try it again later.

    CLOSED ──(failures in a row ≥ threshold)──▶ OPEN
    OPEN ──(reset_s elapsed)──▶ HALF_OPEN
    HALF_OPEN ──(trial calls all succeed)──▶ CLOSED
    HALF_OPEN ──(a trial call fails)──▶ OPEN (the timer starts again)

While OPEN, :meth:`CircuitBreaker.before_call` raises :class:`CircuitOpen` at once, so a
dead dependency costs no time-outs; callers that can wait (the stream consumer) ask
:meth:`CircuitBreaker.retry_after` and leave their work where it is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from medkb.errors import LLMError, ObjectStoreError, StoreError, VectorStoreError

T = TypeVar("T")


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(StoreError):
    """A call was refused because the dependency's circuit is open."""

    def __init__(self, name: str, retry_after_s: float) -> None:
        super().__init__(
            f"The {name} is unavailable: it failed repeatedly, so calls to it pause for "
            f"{retry_after_s:.1f} s more (circuit open). Check that it is running; work "
            "waits meanwhile."
        )
        self.name, self.retry_after_s = name, retry_after_s


# An open circuit is also the dependency's own kind of failure, so the code already handling
# that failure handles it too: a write whose vector store is refused stays in the outbox
# (``SyncPending``), an answer whose LLM is refused falls back to the extractive one.


class VectorStoreCircuitOpen(CircuitOpen, VectorStoreError):
    """The vector store's circuit is open."""


class ObjectStoreCircuitOpen(CircuitOpen, ObjectStoreError):
    """The object store's circuit is open."""


class LLMCircuitOpen(CircuitOpen, LLMError):
    """The LLM endpoint's circuit is open."""


class CircuitBreaker:
    """Thread-safe breaker for one dependency, on an injectable monotonic clock."""

    def __init__(
        self,
        name: str,
        *,
        failures: int = 5,
        reset_s: float = 30.0,
        trial_calls: int = 1,
        clock: Callable[[], float] = time.monotonic,
        refusal: type[CircuitOpen] = CircuitOpen,
    ) -> None:
        """``refusal``: the :class:`CircuitOpen` subclass raised while the circuit is open."""
        if failures < 1 or trial_calls < 1 or reset_s < 0:
            raise ValueError("failures and trial_calls must be >= 1, reset_s >= 0")
        self.name, self.threshold, self.reset_s, self.trials = name, failures, reset_s, trial_calls
        self.clock, self.refusal = clock, refusal
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trials_started = self._trials_passed = 0
        #: How often the circuit opened (for metrics).
        self.opened_count = 0

    @property
    def state(self) -> State:
        """The state now (OPEN turns HALF_OPEN by itself once ``reset_s`` passed)."""
        with self._lock:
            return self._state()

    def _state(self) -> State:
        if self._opened_at is None:
            return State.CLOSED
        if self.clock() - self._opened_at < self.reset_s:
            return State.OPEN
        return State.HALF_OPEN

    def retry_after(self) -> float:
        """Seconds until the circuit lets a call through (0 when it does now)."""
        with self._lock:
            if self._state() is not State.OPEN or self._opened_at is None:
                return 0.0
            return max(self.reset_s - (self.clock() - self._opened_at), 0.0)

    def before_call(self) -> None:
        """Raise :class:`CircuitOpen` unless a call may go through now."""
        with self._lock:
            state = self._state()
            if state is State.CLOSED:
                return
            if state is State.HALF_OPEN and self._trials_started < self.trials:
                self._trials_started += 1
                return
            assert self._opened_at is not None
            left = max(self.reset_s - (self.clock() - self._opened_at), 0.0)
            raise self.refusal(self.name, left)

    def succeeded(self) -> None:
        """Record a successful call."""
        with self._lock:
            if self._state() is State.HALF_OPEN:
                self._trials_passed += 1
                if self._trials_passed < self.trials:
                    return
            self._failures, self._opened_at = 0, None
            self._trials_started = self._trials_passed = 0

    def failed(self) -> None:
        """Record a failed call; open the circuit at the threshold or on a failed trial."""
        with self._lock:
            state = self._state()
            self._failures += 1
            if state is State.HALF_OPEN or (
                state is State.CLOSED and self._failures >= self.threshold
            ):
                self._opened_at = self.clock()
                self._trials_started = self._trials_passed = 0
                self.opened_count += 1

    def call(self, fn: Callable[[], T], *, ignore: tuple[type[BaseException], ...] = ()) -> T:
        """``fn()`` through the breaker: refused while open, its outcome recorded.

        ``ignore``: errors that are the caller's fault (bad input), not the dependency's;
        they pass through and count as an answer from a working dependency.
        """
        self.before_call()
        try:
            result = fn()
        except ignore:
            self.succeeded()
            raise
        except Exception:
            self.failed()
            raise
        self.succeeded()
        return result
