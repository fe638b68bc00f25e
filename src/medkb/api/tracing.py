"""Exporting the server's traces: OTLP over HTTP when a collector is configured
(``MEDKB_OTEL__ENDPOINT`` or the standard ``OTEL_EXPORTER_OTLP_ENDPOINT``), nothing
otherwise. The spans themselves are made by :mod:`medkb.telemetry` (search and stores)
and by the request middleware (:func:`request_span`)."""

from __future__ import annotations

import logging
import os
from typing import Any

from medkb.config import Settings
from medkb.errors import missing_dependency

log = logging.getLogger(__name__)

_STANDARD = "OTEL_EXPORTER_OTLP_ENDPOINT"
_TRACES_PATH = "/v1/traces"


def traces_url(settings: Settings) -> str | None:
    """Where spans go: ``<endpoint>/v1/traces``, or None when no collector is set."""
    base = settings.otel.endpoint or os.environ.get(_STANDARD)
    if not base:
        return None
    base = base.rstrip("/")
    return base if base.endswith(_TRACES_PATH) else base + _TRACES_PATH


def exporter(settings: Settings) -> Any:
    """The OTLP/HTTP span exporter for ``settings``, or None when none is configured."""
    url = traces_url(settings)
    if url is None:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise missing_dependency(
            "opentelemetry-exporter-otlp-proto-http", "api", "MEDKB_OTEL__ENDPOINT"
        ) from exc
    return OTLPSpanExporter(endpoint=url, timeout=5)


def configure(settings: Settings) -> bool:
    """Install a tracer provider that batches spans to the collector; False (and nothing
    installed) when no collector is configured."""
    found = exporter(settings)
    if found is None:
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.otel.service_name})
    )
    provider.add_span_processor(BatchSpanProcessor(found))
    trace.set_tracer_provider(provider)
    log.info("Exporting traces to %s", traces_url(settings))
    return True


def flush() -> None:
    """Send the spans still batched (at shutdown: Uvicorn ends on SIGTERM re-raised, so
    exit handlers do not run)."""
    try:
        from opentelemetry import trace
    except ImportError:
        return
    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is not None:
        force_flush(timeout_millis=5000)
