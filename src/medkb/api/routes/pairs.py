"""``/v1/pairs``: create, read, list (filters, cursor paging), update, delete, graph."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from medkb.api.deps import Caller, committed, idempotent, need, retrying
from medkb.api.errors import ApiError
from medkb.api.schemas import Deleted, Neighbourhood, Pair, PairIn, PairPage, PairPatch
from medkb.models import QAMetadata, QAPair, Source

router = APIRouter(prefix="/v1/pairs", tags=["pairs"])

Reader = Annotated[Caller, Depends(need("query"))]
Writer = Annotated[Caller, Depends(need("write"))]
Many = Annotated[list[str] | None, Query(max_length=50)]


def new_pair(body: PairIn) -> QAPair:
    """The pair a create request describes, under a fresh server-made id."""
    meta = body.metadata
    return QAPair(
        id="qa-" + secrets.token_hex(8),
        question=body.question,
        response=body.response,
        metadata=QAMetadata(**meta.model_dump()),
        sources=[Source(**s.model_dump()) for s in body.sources],
    )


@router.post("", status_code=201, response_model=Pair, summary="Create a pair")
def create_pair(request: Request, body: PairIn, caller: Writer) -> JSONResponse:
    """Store a new Q&A pair: embedded, linked into the graph, synced to the vector store."""

    def work() -> tuple[int, Any]:
        pair = new_pair(body)
        done = retrying(lambda: committed(lambda: caller.kb.add([pair])))
        caller.audit("pair.create", pair.id, synced=done is not None)
        caller.service.metrics.ingested.inc()
        return 201, caller.kb.get(pair.id)

    return idempotent(request, caller, body.model_dump(), work)


@router.get("", response_model=PairPage, summary="List pairs")
def list_pairs(
    caller: Reader,
    category: Many = None,
    source: Many = None,
    source_type: Many = None,
    language: Many = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """This tenant's pairs by id, filtered by metadata (repeat a key for OR)."""
    filters = {
        key: values
        for key, values in (
            ("category", category),
            ("source", source),
            ("source_type", source_type),
            ("language", language),
        )
        if values
    }
    items, last = caller.kb.list_pairs(filters=filters, after=_decode(cursor), limit=limit)
    return {"items": [p.to_dict() for p in items], "next_cursor": _encode(last)}


def _encode(last: str | None) -> str | None:
    return None if last is None else base64.urlsafe_b64encode(last.encode()).decode()


def _decode(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        decoded = base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True)
        return decoded.decode("utf-8") or _invalid()
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise ApiError(400, "Invalid cursor; pass next_cursor from the previous page.") from exc


def _invalid() -> str:
    raise ValueError("empty cursor")


@router.get("/{qa_id}", response_model=Pair, summary="Get a pair")
def get_pair(qa_id: str, caller: Reader) -> dict[str, Any]:
    """One pair with its metadata, sources, relations and sync state."""
    return caller.kb.get(qa_id)


@router.patch("/{qa_id}", response_model=Pair, summary="Update a pair")
def update_pair(qa_id: str, body: PairPatch, caller: Writer) -> dict[str, Any]:
    """Change texts or metadata; changed texts are re-embedded and re-linked."""
    result = retrying(
        lambda: committed(
            lambda: caller.kb.update(
                qa_id, question=body.question, response=body.response, metadata=body.metadata
            )
        )
    )
    changed = result is None or bool(result.updated)
    caller.audit("pair.update", qa_id, changed=changed, fields=_fields(body))
    return caller.kb.get(qa_id)


def _fields(body: PairPatch) -> list[str]:
    named = [name for name in ("question", "response") if getattr(body, name) is not None]
    return named + [f"metadata.{key}" for key in body.metadata]


@router.delete("/{qa_id}", response_model=Deleted, summary="Delete a pair")
def delete_pair(qa_id: str, caller: Writer) -> dict[str, Any]:
    """Delete a pair and every relation pointing at it."""
    done = retrying(lambda: committed(lambda: caller.kb.delete(qa_id)))
    caller.audit("pair.delete", qa_id, synced=done is not None)
    return {"id": qa_id, "status": "deleted"}


@router.get("/{qa_id}/graph", response_model=Neighbourhood, summary="A pair's neighbourhood")
def pair_graph(
    qa_id: str, caller: Reader, depth: Annotated[int, Query(ge=1, le=2)] = 1
) -> dict[str, Any]:
    """The pairs within ``depth`` hops of this one and the paths reaching them."""
    return caller.kb.neighbourhood(qa_id, depth=depth)
