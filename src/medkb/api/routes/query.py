"""``POST /v1/query`` and ``POST /v1/feedback``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from medkb.api.deps import Caller, idempotent, need
from medkb.api.schemas import FeedbackIn, QueryIn, QueryOut, Recorded

router = APIRouter(prefix="/v1", tags=["query"])

Reader = Annotated[Caller, Depends(need("query"))]


@router.post("/query", response_model=QueryOut, summary="Ask a question")
def query(request: Request, body: QueryIn, caller: Reader) -> JSONResponse:
    """Answer with cited sources, hits, graph paths and timings (``medkb query --json``);
    a repeated question is answered from the tenant's answer cache (``cached: true``)."""

    def work() -> tuple[int, Any]:
        result = caller.kb.answer(
            body.query,
            top_k=body.top_k,
            depth=body.depth,
            filters=body.filters,
            mode=body.mode,
            session_id=body.session_id,
        )
        caller.service.metrics.observe_query(mode=body.mode, timings_ms=result["timings_ms"])
        return 200, result

    return idempotent(request, caller, body.model_dump(), work)


@router.post("/feedback", response_model=Recorded, status_code=201, summary="Rate an answer")
def feedback(request: Request, body: FeedbackIn, caller: Reader) -> JSONResponse:
    """Record a 1-5 rating (and comment) of an answer, by its ``query_log_id``."""

    def work() -> tuple[int, Any]:
        caller.kb.feedback(body.query_log_id, rating=body.rating, comment=body.comment)
        caller.audit("feedback.create", str(body.query_log_id), rating=body.rating)
        return 201, {"query_log_id": body.query_log_id, "status": "recorded"}

    return idempotent(request, caller, body.model_dump(), work)
