"""Admin routes: analytics, sync status and verify, the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from medkb.access import audit
from medkb.api.deps import Caller, idempotent, need
from medkb.api.schemas import MAX_INT, AuditList

router = APIRouter(prefix="/v1", tags=["admin"])

Admin = Annotated[Caller, Depends(need("admin"))]


@router.get("/analytics", summary="Usage analytics")
def analytics(
    caller: Admin,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    """Queries per day, p50/p95 latency, the most retrieved pairs and feedback."""
    return caller.kb.analytics(days=days, top=top)


@router.get("/sync/status", summary="Sync status")
def sync_status(caller: Admin) -> dict[str, Any]:
    """Synced, pending and failed counts, outbox rows, oldest pending age (this tenant)."""
    return caller.kb.sync_status().to_dict()


@router.post("/sync/verify", summary="Verify both stores agree")
def sync_verify(request: Request, caller: Admin) -> JSONResponse:
    """Compare the relational and vector stores id by id and checksum by checksum."""

    def work() -> tuple[int, Any]:
        report = caller.kb.verify()
        caller.audit("sync.verify", None, clean=report.clean, drift=report.drift)
        return 200, report.to_dict()

    return idempotent(request, caller, {}, work)


@router.get("/audit", response_model=AuditList, summary="The audit log")
def audit_log(
    caller: Admin,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    action: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    """This tenant's audit entries, newest first."""
    items = audit.entries(
        caller.kb.engine,
        tenant_id=caller.tenant_id,
        limit=limit,
        before_id=before,
        actions=action or (),
    )
    nxt = items[-1]["id"] if len(items) == limit else None
    return {"items": items, "next_before": nxt}
