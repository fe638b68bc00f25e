"""Prometheus metrics: requests and latency per route template, queries and their stage
latencies, ingested pairs, errors by kind, outbox depth, and each dependency's circuit
(``medkb_circuit_state``, as the stream worker reports it).

Each app has its own registry (several apps in one test process never collide). Under
Gunicorn set ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` merges every worker's samples.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

if TYPE_CHECKING:
    from medkb.resilience.breaker import CircuitBreaker

#: Gauge: 0 closed, 1 half-open, 2 open, per dependency (the worker's metric and values).
CIRCUIT_STATE = "medkb_circuit_state"
_STATE_VALUE = {"closed": 0, "half_open": 1, "open": 2}

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The service's metrics, in one registry."""

    def __init__(
        self,
        *,
        outbox_depth: Callable[[], float],
        breakers: Mapping[str, CircuitBreaker] | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "medkb_http_requests", "HTTP requests.", ["method", "route", "status"], registry=reg
        )
        self.latency = Histogram(
            "medkb_http_request_seconds",
            "HTTP request latency.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.queries = Counter("medkb_queries", "Queries answered.", ["mode"], registry=reg)
        self.stage = Histogram(
            "medkb_query_stage_seconds",
            "Latency of each query stage.",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.ingested = Counter(
            "medkb_ingested_pairs", "Pairs created or updated through the API.", registry=reg
        )
        self.errors = Counter("medkb_errors", "Error responses by kind.", ["kind"], registry=reg)
        self.outbox_depth = outbox_depth
        self.depth = Gauge(
            "medkb_outbox_depth",
            "Outbox rows waiting for the vector store.",
            registry=reg,
            multiprocess_mode="livemax",
        )
        self.breakers = dict(breakers or {})
        self.circuit = Gauge(
            CIRCUIT_STATE,
            "0 closed, 1 half-open, 2 open",
            ["dependency"],
            registry=reg,
            multiprocess_mode="livemax",
        )

    def observe_request(
        self, *, method: str, route: str, status: int, seconds: float, error_kind: str | None
    ) -> None:
        """Count one finished request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if error_kind:
            self.errors.labels(error_kind).inc()

    def observe_query(self, *, mode: str, timings_ms: Mapping[str, float]) -> None:
        """Count one query and its stage latencies."""
        self.queries.labels(mode).inc()
        for stage, ms in timings_ms.items():
            self.stage.labels(stage).observe(ms / 1000)

    def render(self) -> bytes:
        """The text exposition format (every worker's samples under Gunicorn)."""
        self.depth.set(self.outbox_depth())
        for name, breaker in self.breakers.items():
            self.circuit.labels(name).set(_STATE_VALUE[breaker.state.value])
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged)
        return generate_latest(self.registry)
