"""``POST /v1/query``, its streaming variant ``POST /v1/query/stream``, and
``POST /v1/feedback``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from medkb.api import stream
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


_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `notice` (first, only for an emergency), "
        "`sources`, `answer` (pieces of the text), then `done` with the POST /v1/query object.",
        "content": {
            "text/event-stream": {
                # One event as an SSE parser reads it: its name and its JSON data.
                "schema": {
                    "type": "object",
                    "properties": {
                        "event": {
                            "type": "string",
                            "enum": ["notice", "sources", "answer", "done"],
                        },
                        "data": {"type": "string", "description": "A JSON object."},
                    },
                    "required": ["event", "data"],
                },
                "example": 'event: sources\ndata: {"citations": [], "sources": []}\n\n'
                'event: answer\ndata: {"text": "High blood pressure ... [1]"}\n\n'
                'event: done\ndata: {"query": "...", "answer": "...", "citations": []}\n\n',
            }
        },
    }
}


@router.post(
    "/query/stream",
    summary="Ask a question, answer streamed",
    response_class=StreamingResponse,
    responses=_STREAM_DOC,
)
def query_stream(request: Request, body: QueryIn, caller: Reader) -> Any:
    """The answer as Server-Sent Events, urgent notice first (see ``medkb.api.stream``).

    The query runs before the first byte is sent, so every error (bad input, key, scope,
    rate limit) is the usual JSON error; ``Idempotency-Key`` replays the first answer.
    """
    answered = query(request, body, caller)
    if answered.status_code != 200:
        return answered
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    if "Idempotent-Replayed" in answered.headers:
        headers["Idempotent-Replayed"] = answered.headers["Idempotent-Replayed"]
    return StreamingResponse(
        stream.stream(json.loads(bytes(answered.body))),
        media_type="text/event-stream",
        headers=headers,
    )


@router.post("/feedback", response_model=Recorded, status_code=201, summary="Rate an answer")
def feedback(request: Request, body: FeedbackIn, caller: Reader) -> JSONResponse:
    """Record a 1-5 rating (and comment) of an answer, by its ``query_log_id``."""

    def work() -> tuple[int, Any]:
        caller.kb.feedback(body.query_log_id, rating=body.rating, comment=body.comment)
        caller.audit("feedback.create", str(body.query_log_id), rating=body.rating)
        return 201, {"query_log_id": body.query_log_id, "status": "recorded"}

    return idempotent(request, caller, body.model_dump(), work)
