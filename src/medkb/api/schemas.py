"""Request and response bodies of the ``/v1`` routes, with the examples /docs shows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The largest integer a database column holds (BIGINT, SQLite INTEGER): a bigger one is a
#: 422 here, not an overflow in the store.
MAX_INT = 2**63 - 1


class ErrorDetail(BaseModel):
    """What went wrong."""

    type: str = Field(description="Kind of error, e.g. 'not_found', 'validation_error'.")
    message: str = Field(description="What went wrong and what to do about it.")
    request_id: str | None = Field(description="Quote it when reporting the error.")


class ErrorResponse(BaseModel):
    """The one error shape of every error response."""

    error: ErrorDetail


class MetadataIn(BaseModel):
    """Metadata of a pair; unknown keys go to ``extra``."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(None, max_length=200, examples=["Cardiology"])
    subcategory: str | None = Field(None, max_length=200)
    source: str | None = Field(None, max_length=200, examples=["AHA guidelines 2024"])
    source_type: str | None = Field(None, max_length=64)
    author: str | None = Field(None, max_length=500)
    published: str | None = Field(None, max_length=64, examples=["2024-05-01"])
    language: str = Field("en", min_length=2, max_length=16)
    difficulty: str | None = Field(None, max_length=64)
    tags: list[str] = Field(default_factory=list, max_length=100)
    is_active: bool = True
    extra: dict[str, str] = Field(default_factory=dict)


class SourceIn(BaseModel):
    """Where a pair's answer comes from."""

    model_config = ConfigDict(extra="forbid")

    document: str = Field(min_length=1, max_length=1000, examples=["hypertension.pdf"])
    page: int | None = Field(None, ge=0, le=MAX_INT)
    section: str | None = Field(None, max_length=1000)
    excerpt: str | None = Field(None, max_length=10_000)
    url: str | None = Field(None, max_length=2000)


class PairIn(BaseModel):
    """A new Q&A pair; the server gives it an id."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "question": "What are the symptoms of hypertension?",
                    "response": "Hypertension usually has no symptoms; measure blood pressure.",
                    "metadata": {"category": "Cardiology", "tags": ["blood pressure"]},
                    "sources": [{"document": "hypertension.pdf", "page": 3}],
                }
            ]
        },
    )

    question: str = Field(min_length=1, max_length=200_000)
    response: str = Field(min_length=1, max_length=200_000)
    metadata: MetadataIn = Field(default_factory=MetadataIn)
    sources: list[SourceIn] = Field(default_factory=list, max_length=100)


class PairPatch(BaseModel):
    """Changes to a pair: texts are re-embedded, metadata keys set (``tags``: comma list)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"metadata": {"category": "Vaccination"}}]},
    )

    question: str | None = Field(None, min_length=1, max_length=200_000)
    response: str | None = Field(None, min_length=1, max_length=200_000)
    metadata: dict[str, str] = Field(default_factory=dict)


class Pair(BaseModel):
    """A stored pair with its sources, outgoing relations and sync state."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(examples=["qa-3f2a9c1d0b7e4a65"])
    question: str
    response: str
    metadata: dict[str, Any]
    sources: list[dict[str, Any]]
    relations: list[dict[str, Any]] | None = Field(
        None, description="Outgoing relations (GET one pair; not in lists)."
    )
    sync: dict[str, Any] | None = Field(
        None, description="Sync state in the vector store (GET one pair; not in lists)."
    )


class PairPage(BaseModel):
    """One page of pairs; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[Pair]
    next_cursor: str | None = Field(description="Null on the last page.")


class Deleted(BaseModel):
    """A pair that was deleted."""

    id: str
    status: Literal["deleted"] = "deleted"


class Neighbourhood(BaseModel):
    """A pair's graph neighbourhood."""

    id: str
    depth: int
    nodes: list[dict[str, Any]] = Field(description="Pairs reached (the start included).")
    paths: list[dict[str, Any]] = Field(description="Nodes, relation types and confidence.")


class QueryIn(BaseModel):
    """A question."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "query": "What are the symptoms of hypertension?",
                    "top_k": 5,
                    "filters": {"category": ["Cardiology"]},
                }
            ]
        },
    )

    query: str = Field(min_length=1, max_length=2000)
    top_k: int | None = Field(None, ge=1, le=100)
    depth: int = Field(1, ge=0, le=2)
    filters: dict[str, list[str]] | None = None
    mode: Literal["hybrid", "dense", "keyword"] = "hybrid"
    session_id: str | None = Field(None, max_length=128)


class QueryOut(BaseModel):
    """The answer, with citations, hits, graph paths and timings (``medkb query --json``)."""

    model_config = ConfigDict(extra="allow")

    query: str
    answer: str
    citations: list[dict[str, Any]]
    hits: list[dict[str, Any]]
    graph: list[dict[str, Any]]
    query_log_id: int | None = Field(description="Pass it to POST /v1/feedback.")
    timings_ms: dict[str, float]
    cached: bool = Field(
        False, description="True when answered from the tenant's answer cache (docs/api.md)."
    )


class FeedbackIn(BaseModel):
    """A rating of one answer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"query_log_id": 42, "rating": 5, "comment": "clear"}]},
    )

    query_log_id: int = Field(ge=1, le=MAX_INT)
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=5000)


class Recorded(BaseModel):
    """Feedback stored."""

    query_log_id: int
    status: Literal["recorded"] = "recorded"


class Job(BaseModel):
    """A document ingestion job."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(examples=["job_8c1f0a2b3d4e5f60"])
    state: Literal["queued", "running", "done", "failed"]
    files: list[str]
    done: int
    total: int
    current: str | None
    report: dict[str, Any] | None = Field(description="The per-file ingest report, when done.")
    error: str | None
    created_at: str
    updated_at: str


class JobList(BaseModel):
    """Recent jobs, newest first."""

    items: list[Job]


class DocumentList(BaseModel):
    """Documents pairs were parsed from, with their pair counts."""

    items: list[dict[str, Any]]


class DocumentDeleted(BaseModel):
    """A document whose pairs were deleted."""

    document: str
    deleted_pairs: list[str]


class EventList(BaseModel):
    """Stored ``behaviour.event`` interactions, most similar first."""

    query: str
    events: list[dict[str, Any]] = Field(
        description="event_id, user_id, session_id, event_type, item_id, category, price, "
        "occurred_at (ISO 8601) and score (cosine similarity)."
    )


class AuditList(BaseModel):
    """Audit entries, newest first; pass ``next_before`` as ``before`` for older ones."""

    items: list[dict[str, Any]]
    next_before: int | None
