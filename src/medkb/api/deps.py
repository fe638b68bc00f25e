"""Request dependencies: who is calling (API key → tenant), may they, and how fast.

Every ``/v1`` route depends on :func:`need` with the scope it requires. The caller's key
decides the tenant; no route reads a tenant id from the request.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Security
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from medkb.access import audit
from medkb.access.keys import SCOPES, Principal, authenticate
from medkb.api import logconfig
from medkb.api.errors import ApiError
from medkb.api.service import Service
from medkb.app import KnowledgeBase
from medkb.errors import SyncPending, WriteConflict

T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer mk_...`")
_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key: `X-API-Key: mk_...`"
)
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass
class Caller:
    """One authenticated request: its principal, tenant view and request facts."""

    principal: Principal
    kb: KnowledgeBase
    service: Service
    request_id: str
    ip: str | None

    @property
    def tenant_id(self) -> str:
        """The caller's tenant."""
        return self.principal.tenant_id

    def audit(self, action: str, target: str | None = None, **detail: Any) -> None:
        """Append this caller's ``action`` on ``target`` to the audit log."""
        audit.record(
            self.kb.engine,
            audit.AuditEntry(
                tenant_id=self.tenant_id,
                actor=self.principal.key_id,
                action=action,
                target=target,
                ip=self.ip,
                request_id=self.request_id,
                detail=jsonable_encoder(detail),
            ),
        )


def service(request: Request) -> Service:
    """The running :class:`Service`."""
    found = request.app.state.service
    assert isinstance(found, Service)
    return found


def _presented(bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str | None:
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return header or None


def need(scope: str) -> Callable[..., Caller]:
    """A dependency that authenticates the caller and requires ``scope``."""
    assert scope in SCOPES

    def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        header: Annotated[str | None, Security(_header)],
        svc: Annotated[Service, Depends(service)],
    ) -> Caller:
        principal = _principal(svc, _presented(bearer, header))
        logconfig.set_tenant(principal.tenant_id)
        if not principal.may(scope):
            raise ApiError(
                403,
                f"This API key lacks the {scope!r} scope; ask an admin for a key with it "
                f"(medkb keys create --scopes {scope}).",
            )
        wait = svc.limiter.take(principal.key_id)
        if wait > 0:
            raise ApiError(
                429,
                f"Too many requests for this API key; retry in {math.ceil(wait)} s.",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        return Caller(
            principal=principal,
            kb=svc.view(principal.tenant_id),
            service=svc,
            request_id=request.state.request_id,
            ip=request.client.host if request.client else None,
        )

    return dependency


def _principal(svc: Service, key: str | None) -> Principal:
    if not svc.auth:
        return Principal("local", svc.settings.tenant, frozenset(SCOPES))
    if key is None:
        raise ApiError(
            401,
            "No API key; send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
            "(medkb keys create makes one).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = authenticate(svc.kb.engine, key)
    if found is None:
        raise ApiError(
            401,
            "The API key is wrong, unknown or revoked; check it or ask for a new one.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return found


def idempotent(
    request: Request, caller: Caller, payload: Any, work: Callable[[], tuple[int, Any]]
) -> JSONResponse:
    """Run a POST's ``work`` once per ``Idempotency-Key``: a repeat with the same body gets
    the first answer (header ``Idempotent-Replayed: true``) and writes nothing."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        status, body = work()
        return JSONResponse(jsonable_encoder(body), status_code=status)
    if not _IDEMPOTENCY_KEY.match(key):
        raise ApiError(400, "Idempotency-Key must be 1-255 printable ASCII characters.")
    fingerprint = _fingerprint(request, payload)
    name = f"{caller.tenant_id}:{key}"
    store = caller.service.idempotency
    outcome = store.begin(name, fingerprint)
    if outcome.state == "replay":
        headers = {"Idempotent-Replayed": "true"}
        return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
    if outcome.state == "mismatch":
        raise ApiError(
            422,
            "This Idempotency-Key was used for a different request; use a new key for a "
            "new request.",
            kind="idempotency_key_reused",
        )
    if outcome.state == "busy":
        raise ApiError(
            409,
            "A request with this Idempotency-Key is still in progress; retry shortly.",
            kind="idempotency_in_progress",
            headers={"Retry-After": "1"},
        )
    try:
        status, body = work()
    except BaseException:
        store.abandon(name)
        raise
    encoded = jsonable_encoder(body)
    store.finish(name, fingerprint, status, encoded)
    return JSONResponse(encoded, status_code=status)


def retrying(work: Callable[[], T], *, attempts: int = 3) -> T:
    """Run a write, again when it clashed with another writer (``WriteConflict``: the
    transaction was rolled back whole, so running it again is safe)."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except WriteConflict:
            if attempt == attempts:
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def committed(work: Callable[[], T]) -> T | None:
    """Run a write; ``SyncPending`` counts as done (the relational store, the system of
    record, committed it and the outbox applies it to the vector store later), so a client
    never retries, and duplicates, a write that happened. None when sync is pending."""
    try:
        return work()
    except SyncPending:
        return None


def _fingerprint(request: Request, payload: Any) -> str:
    text = json.dumps(jsonable_encoder(payload), sort_keys=True, ensure_ascii=False)
    material = f"{request.method} {request.url.path}\n{text}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
