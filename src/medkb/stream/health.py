"""A stream worker's own HTTP endpoints, on a port of its own (``--health-port``):

- ``/health/live``  — 200 while the process runs its loop;
- ``/health/ready`` — 200 when the bus answers and no circuit is open, else 503;
- ``/health/bus``   — the bus's answer alone (200 / 503);
- ``/metrics``      — Prometheus text: the worker's counters, each breaker's state and the
  topic's dead letters (counted on the bus at each scrape).

Standard library only (``http.server`` in a daemon thread), bound to 127.0.0.1 by default:
the worker has no API keys to check, so it is not meant to face a network.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from medkb.errors import MedkbError
from medkb.resilience.breaker import State
from medkb.stream.consumer import StreamWorker

_STATE_VALUE = {State.CLOSED: 0, State.HALF_OPEN: 1, State.OPEN: 2}

#: The worker's counters on /metrics: ``medkb_stream_<name>_total`` ← ``StreamStats.<field>``.
COUNTERS = {
    "consumed": "consumed",
    "applied": "applied",
    "skipped": "skipped",
    "dead_lettered": "dead_lettered",
    "batches": "batches",
    "failed_batches": "errors",
    "circuit_waits": "circuit_waits",
}
#: Gauge: 0 closed, 1 half-open, 2 open, per dependency (label ``dependency``).
CIRCUIT_STATE = "medkb_circuit_state"
#: Gauge: the dead letters of the worker's topic (label ``topic``).
DEAD_LETTERS = "medkb_dead_letters"


def bus_check(worker: StreamWorker) -> dict[str, Any]:
    """Whether the worker's bus answers, and why not."""
    try:
        worker.bus.ping()
    except (MedkbError, OSError) as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True}


def readiness(worker: StreamWorker) -> dict[str, Any]:
    """The bus check plus every breaker's state; ``ok`` only when all are fine."""
    bus = bus_check(worker)
    breakers = {name: b.state.value for name, b in worker.breakers.items()}
    ok = bus["ok"] and all(state != State.OPEN.value for state in breakers.values())
    return {"ok": ok, "bus": bus, "breakers": breakers}


def dead_letter_lines(worker: StreamWorker) -> list[str]:
    """The ``medkb_dead_letters`` gauge of the worker's topic, counted on the bus.

    Every worker of the topic reports the same number (take the max). When the bus does
    not answer there is no sample: /health/ready and /health/bus say why.
    """
    try:
        count = worker.bus.count_dead_letters(worker.topic)
    except (MedkbError, OSError):
        return []
    return [
        f"# HELP {DEAD_LETTERS} Dead letters of the topic waiting for 'medkb dlq'",
        f"# TYPE {DEAD_LETTERS} gauge",
        f'{DEAD_LETTERS}{{topic="{worker.topic}"}} {count}',
    ]


def metrics_text(worker: StreamWorker) -> str:
    """The worker's counters, breaker states and dead letters in the Prometheus text format."""
    labels = f'topic="{worker.topic}",group="{worker.group}",worker="{worker.name}"'
    lines = []
    for name, field in COUNTERS.items():
        lines += [
            f"# TYPE medkb_stream_{name}_total counter",
            f"medkb_stream_{name}_total{{{labels}}} {getattr(worker.stats, field)}",
        ]
    lines.append(f"# HELP {CIRCUIT_STATE} 0 closed, 1 half-open, 2 open")
    lines.append(f"# TYPE {CIRCUIT_STATE} gauge")
    for name, breaker in worker.breakers.items():
        value = _STATE_VALUE[breaker.state]
        lines.append(f'{CIRCUIT_STATE}{{{labels},dependency="{name}"}} {value}')
    lines += dead_letter_lines(worker)
    return "\n".join(lines) + "\n"


class HealthServer:
    """Serves the endpoints above for ``worker`` until :meth:`close`."""

    def __init__(self, worker: StreamWorker, *, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = _handler(worker)
        self.server = ThreadingHTTPServer((host, port), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()


def _handler(worker: StreamWorker) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, metrics_text(worker), "text/plain; version=0.0.4")
                return
            checks: dict[str, Callable[[], dict[str, Any]]] = {
                "/health/live": lambda: {"ok": True},
                "/health/ready": lambda: readiness(worker),
                "/health/bus": lambda: bus_check(worker),
            }
            check = checks.get(self.path)
            if check is None:
                self._send(404, json.dumps({"error": "not found"}), "application/json")
                return
            body = check()
            self._send(200 if body["ok"] else 503, json.dumps(body), "application/json")

        def _send(self, status: int, body: str, kind: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            return  # no access log on stderr

    return Handler
