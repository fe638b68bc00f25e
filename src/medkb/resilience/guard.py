"""Put a retry policy and a circuit breaker around every method of a dependency.

``guarded(store, breaker=..., policy=...)`` returns a proxy with the same attributes:
each method call is retried by the policy and counted by the breaker (one failure per call
whose retries all failed), so the code using the dependency — the writer, the sync — stays
as it is. Errors that are the caller's fault (:class:`~medkb.errors.InputError`,
:class:`~medkb.errors.NotFound`) are neither retried nor counted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from medkb.errors import InputError, NotFound
from medkb.resilience.breaker import CircuitBreaker
from medkb.resilience.retry import RetryPolicy

D = TypeVar("D")

#: Errors that say the call was wrong, not that the dependency failed.
CALLER_ERRORS: tuple[type[BaseException], ...] = (InputError, NotFound)


class Guarded:
    """A proxy running ``target``'s methods through ``policy`` and ``breaker``."""

    def __init__(
        self,
        target: object,
        *,
        breaker: CircuitBreaker,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
    ) -> None:
        self._target, self._breaker, self._policy, self._sleep = target, breaker, policy, sleep

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            def tries() -> Any:
                return self._policy.call(
                    lambda: attr(*args, **kwargs), give_up_on=CALLER_ERRORS, sleep=self._sleep
                )

            return self._breaker.call(tries, ignore=CALLER_ERRORS)

        return call


def guarded(
    target: D,
    *,
    breaker: CircuitBreaker,
    policy: RetryPolicy,
    sleep: Callable[[float], None] | None = None,
) -> D:
    """``target`` behind ``policy`` and ``breaker``, typed as ``target`` itself."""
    import time

    return cast(D, Guarded(target, breaker=breaker, policy=policy, sleep=sleep or time.sleep))
