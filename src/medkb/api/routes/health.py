"""``/health`` probes (no key needed: they show no tenant data) and ``/metrics``."""

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


def check_vector(svc: Service) -> dict[str, Any]:
    """The vector store answers a count (not shown: probes need no key, so they tell
    nothing about how much data there is)."""
    svc.kb.store.count(svc.settings.tenant)
    return {"ok": True}


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


def _answer(results: dict[str, dict[str, Any]]) -> JSONResponse:
    ok = all(r["ok"] for r in results.values())
    body = {"status": "ok" if ok else "fail", "checks": results}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/health", summary="Every check")
def health(svc: Svc) -> JSONResponse:
    """Every dependency and the system; 200 when all pass, 503 otherwise."""
    checks = {**_checks(svc), "system": check_system}
    return _answer({name: _run(check, svc) for name, check in checks.items()})


@router.get("/health/live", summary="Liveness")
def live() -> dict[str, str]:
    """The process answers (a Kubernetes liveness probe)."""
    return {"status": "ok"}


@router.get("/health/ready", summary="Readiness")
def ready(svc: Svc) -> JSONResponse:
    """Database reachable and migrated, vector store and objects reachable (and Redis when
    configured): 200, else 503 (a Kubernetes readiness probe)."""
    return _answer({name: _run(check, svc) for name, check in _checks(svc).items()})


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
    outbox depth, errors by kind (Prometheus text format)."""
    return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4")
