"""``/health`` probes (no key needed: they show no tenant data) and ``/metrics``.

``/health`` and ``/health/ready`` also show each dependency's circuit breaker
(``"breakers": {"vector_store": "closed", ...}``). An open circuit of the vector store or
the embedder fails readiness (503, as the stream worker's readiness does, and as a vector
store that does not answer already did): every query needs both, so the process cannot
serve. An open circuit of the LLM endpoint or the object store leaves it ready but
``"status": "degraded"`` with the reason: answers fall back to extractive ones, and reads,
queries and JSON writes work without uploads.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from medkb.api.deps import service
from medkb.api.service import Service
from medkb.redact import redact
from medkb.resilience.breaker import State
from medkb.stores.relational.engine import current_revision, head_revision

router = APIRouter(tags=["health"])
Svc = Annotated[Service, Depends(service)]

#: Least free disk space (bytes) in the home directory before /health/system turns red.
MIN_FREE_BYTES = 100 << 20


def check_database(svc: Service) -> dict[str, Any]:
    """The relational store answers and its schema is at the newest migration."""
    with svc.kb.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    current, head = current_revision(svc.kb.engine), head_revision()
    if current != head:
        return {"ok": False, "detail": f"schema at {current}, expected {head}: run medkb migrate"}
    return {"ok": True, "migration": current}


#: Dependencies whose open circuit makes the process unable to serve (ready fails).
NEEDED = ("vector_store", "embedder")


def check_vector(svc: Service) -> dict[str, Any]:
    """The vector store answers a count (not shown: probes need no key, so they tell
    nothing about how much data there is). Not asked while its circuit is open: the
    answer is the circuit's, with when it is tried again."""
    breaker = svc.breakers.get("vector_store")
    if breaker is not None and breaker.state is State.OPEN:
        return _open_circuit(breaker.retry_after())
    svc.kb.store.count(svc.settings.tenant)
    return {"ok": True}


def _open_circuit(retry_after_s: float) -> dict[str, Any]:
    return {
        "ok": False,
        "circuit": "open",
        "retry_after_s": round(retry_after_s, 1),
        "detail": f"circuit open after repeated failures; tried again in {retry_after_s:.0f} s",
    }


def breakers(svc: Service) -> dict[str, Any]:
    """Each dependency's circuit: its state, and when an open one is tried again."""
    found: dict[str, Any] = {}
    for name, breaker in svc.breakers.items():
        state = breaker.state
        found[name] = {"state": state.value}
        if state is State.OPEN:
            found[name]["retry_after_s"] = round(breaker.retry_after(), 1)
    return found


def check_objects(svc: Service) -> dict[str, Any]:
    """The object directory exists (or can be made) and is writable."""
    folder = svc.settings.resolved_object_dir()
    folder.mkdir(parents=True, exist_ok=True)
    writable = os.access(folder, os.W_OK)
    return {"ok": writable, "detail": None if writable else f"{folder} is not writable"}


def check_system(svc: Service) -> dict[str, Any]:
    """Free disk in the home directory and the load average."""
    free = shutil.disk_usage(svc.settings.home).free
    ok = free >= MIN_FREE_BYTES
    return {"ok": ok, "disk_free_bytes": free, "load_avg": list(os.getloadavg())}


def check_redis(svc: Service) -> dict[str, Any]:
    """Redis answers a PING (passes, saying so, when MEDKB_REDIS_URL is unset)."""
    if svc.redis is None:
        return {"ok": True, "configured": False}
    return {"ok": bool(svc.redis.ping()), "configured": True}


def _run(check: Callable[[Service], dict[str, Any]], svc: Service) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = check(svc)
    except Exception as exc:  # any failure of a dependency is a red probe, not a 500
        result = {"ok": False, "detail": redact(f"{type(exc).__name__}: {exc}")}
    result["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _checks(svc: Service) -> dict[str, Callable[[Service], dict[str, Any]]]:
    found: dict[str, Callable[[Service], dict[str, Any]]] = {
        "database": check_database,
        "vector": check_vector,
        "objects": check_objects,
    }
    if svc.redis is not None:
        found["redis"] = check_redis
    return found


def _answer(
    results: dict[str, dict[str, Any]], circuits: dict[str, Any] | None = None
) -> JSONResponse:
    """200 ``ok``, 200 ``degraded`` (an optional dependency's circuit is open: the
    reasons say which) or 503 ``fail`` (a check failed or a needed circuit is open)."""
    circuits = circuits or {}
    opened = sorted(name for name, c in circuits.items() if c["state"] == State.OPEN.value)
    ok = all(r["ok"] for r in results.values()) and not set(opened) & set(NEEDED)
    body: dict[str, Any] = {"status": "ok" if ok else "fail", "checks": results}
    if circuits:
        body["breakers"] = circuits
    if opened:
        body["reasons"] = [
            f"{name} circuit open; tried again in {circuits[name]['retry_after_s']:.0f} s"
            for name in opened
        ]
        if ok:
            body["status"] = "degraded"
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/health", summary="Every check")
def health(svc: Svc) -> JSONResponse:
    """Every dependency and the system; 200 when all pass, 503 otherwise."""
    checks = {**_checks(svc), "system": check_system}
    return _answer({name: _run(check, svc) for name, check in checks.items()}, breakers(svc))


@router.get("/health/live", summary="Liveness")
def live() -> dict[str, str]:
    """The process answers (a Kubernetes liveness probe)."""
    return {"status": "ok"}


@router.get("/health/ready", summary="Readiness")
def ready(svc: Svc) -> JSONResponse:
    """Database reachable and migrated, vector store and objects reachable (and Redis when
    configured), no circuit of the vector store or embedder open: 200 (``degraded`` with
    the reasons when the LLM's or object store's circuit is open), else 503 (a Kubernetes
    readiness probe)."""
    results = {name: _run(check, svc) for name, check in _checks(svc).items()}
    return _answer(results, breakers(svc))


def _one(name: str, check: Callable[[Service], dict[str, Any]]) -> None:
    def endpoint(svc: Svc) -> JSONResponse:
        return _answer({name: _run(check, svc)})

    endpoint.__doc__ = f"The {name} check: 200 when it passes, 503 otherwise."
    router.add_api_route(f"/health/{name}", endpoint, methods=["GET"], summary=f"{name} check")


for _name, _check in (
    ("database", check_database),
    ("vector", check_vector),
    ("objects", check_objects),
    ("system", check_system),
    ("redis", check_redis),
):
    _one(_name, _check)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(svc: Svc) -> Response:
    """Request counts and latency per route, query and ingest counters, stage latencies,
    outbox depth, errors by kind, each dependency's circuit state (Prometheus text format)."""
    return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4")
