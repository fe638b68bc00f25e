"""Retry policies by name, built from four back-off strategies.

=============  ====================  ========  ======  ======
policy         strategy              attempts  base    cap
=============  ====================  ========  ======  ======
default        EXPONENTIAL           3         0.5 s   10 s
aggressive     LINEAR                6         0.1 s   2 s
conservative   EXPONENTIAL           2         2 s     30 s
network        EXPONENTIAL_JITTER    5         0.2 s   15 s
=============  ====================  ========  ======  ======

``attempts`` counts every try, the first included. The delay before retry ``n`` (1, 2, …)
is ``base`` (FIXED), ``base·n`` (LINEAR), ``base·2^(n-1)`` (EXPONENTIAL), or a uniform
draw from 0 to that (EXPONENTIAL_JITTER, "full jitter": many clients retrying at once do
not stampede), each capped at ``cap``. Pure arithmetic; the sleeping and the clock are
passed in, so tests run without waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from medkb.errors import ConfigError

T = TypeVar("T")


class Strategy(StrEnum):
    """How the delay grows from one retry to the next."""

    FIXED = "fixed"
    LINEAR = "linear"
    EXPONENTIAL = "exponential"
    EXPONENTIAL_JITTER = "exponential_jitter"


@dataclass(frozen=True)
class RetryPolicy:
    """How often to try a call and how long to wait in between."""

    name: str
    strategy: Strategy
    attempts: int
    base_s: float
    cap_s: float

    def delay(self, retry: int, *, draw: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        if retry < 1:
            raise ValueError("retry counts from 1")
        if self.strategy is Strategy.FIXED:
            raw = self.base_s
        elif self.strategy is Strategy.LINEAR:
            raw = self.base_s * retry
        else:
            raw = self.base_s * 2 ** (retry - 1)
        capped = min(raw, self.cap_s)
        return capped * draw() if self.strategy is Strategy.EXPONENTIAL_JITTER else capped

    def call(
        self,
        fn: Callable[[], T],
        *,
        retry_on: tuple[type[BaseException], ...] = (Exception,),
        give_up_on: tuple[type[BaseException], ...] = (),
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
    ) -> T:
        """``fn()``, tried up to ``attempts`` times on ``retry_on`` errors.

        ``give_up_on`` errors (a subset of ``retry_on`` that no retry can fix, such as an
        open circuit) are raised at once. The last error is raised when every try failed.
        """
        for retry in range(self.attempts):
            if retry:
                sleep(self.delay(retry, draw=draw))
            try:
                return fn()
            except give_up_on:
                raise
            except retry_on:
                if retry == self.attempts - 1:
                    raise
        raise AssertionError("unreachable: attempts >= 1")


#: The named policies, chosen per dependency in ``Settings.resilience.retry``.
POLICIES: dict[str, RetryPolicy] = {
    "default": RetryPolicy("default", Strategy.EXPONENTIAL, 3, 0.5, 10.0),
    "aggressive": RetryPolicy("aggressive", Strategy.LINEAR, 6, 0.1, 2.0),
    "conservative": RetryPolicy("conservative", Strategy.EXPONENTIAL, 2, 2.0, 30.0),
    "network": RetryPolicy("network", Strategy.EXPONENTIAL_JITTER, 5, 0.2, 15.0),
}

#: A policy that tries once (for tests and for callers that retry elsewhere).
NO_RETRY = RetryPolicy("none", Strategy.FIXED, 1, 0.0, 0.0)


def policy(name: str) -> RetryPolicy:
    """The policy called ``name``.

    Raises:
        ConfigError: no such policy; the message lists the known ones.
    """
    try:
        return POLICIES[name]
    except KeyError:
        raise ConfigError(
            f"Unknown retry policy {name!r}; use one of {', '.join(POLICIES)} "
            "(MEDKB_RESILIENCE__RETRY)."
        ) from None
