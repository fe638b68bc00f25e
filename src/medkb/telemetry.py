"""Tracing spans for the API → search → stores path, through OpenTelemetry's API.

medkb only *creates* spans here; whether they go anywhere is the process's choice
(``medkb serve`` exports them over OTLP when ``MEDKB_OTEL__ENDPOINT`` is set, see
``medkb.api.tracing``). Until something imports OpenTelemetry (never, in the plain install)
every span is a no-op.

Span attributes are counts, modes and names of things, never the text of a question,
an answer or an exception message (either may hold personal identifiers): a failed span
records only the exception's class.
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

Attribute = str | int | float | bool


def _tracing() -> Any | None:
    """OpenTelemetry's ``trace`` module, once something imported it.

    A tracer provider can only have been set (``medkb.api.tracing``, a test, an
    auto-instrumenting launcher) by importing it, so until then spans are no-ops and a
    process such as ``medkb query`` does not pay the tenth of a second its import takes.
    """
    return sys.modules.get("opentelemetry.trace")


class _NoSpan:
    """Stands in for a span when OpenTelemetry is not installed."""

    def set_attribute(self, key: str, value: Attribute) -> None:
        """Ignore ``value``."""

    def update_name(self, name: str) -> None:
        """Ignore ``name``."""


@contextmanager
def span(name: str, **attributes: Attribute | None) -> Iterator[Any]:
    """A span named ``name`` around the block, child of the current one.

    Attributes whose value is None are left out. An exception leaving the block marks the
    span failed with the exception's class name (not its message) and goes on.
    """
    trace = _tracing()
    if trace is None:
        yield _NoSpan()
        return
    tracer = trace.get_tracer("medkb")
    kept = {key: value for key, value in attributes.items() if value is not None}
    with tracer.start_as_current_span(
        name, attributes=kept, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
            current.set_attribute("error.type", type(exc).__name__)
            raise


def carried(work: Callable[..., T]) -> Callable[..., T]:
    """``work`` bound to the caller's context, so spans it opens in another thread (a
    thread pool) are children of the caller's span."""
    context = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> T:
        return context.run(work, *args, **kwargs)

    return run
