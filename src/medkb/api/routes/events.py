"""``GET /v1/events/search``: the tenant's ``behaviour.event`` interactions by similarity."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from medkb.api.deps import Caller, need
from medkb.api.schemas import EventList

router = APIRouter(prefix="/v1", tags=["events"])

#: Interactions name users: reading them is an admin's (analytics) job.
Admin = Annotated[Caller, Depends(need("admin"))]
Name = Annotated[str | None, Query(max_length=256)]
Since = Annotated[datetime | None, Query(description="ISO 8601, inclusive; UTC if naive.")]
Until = Annotated[datetime | None, Query(description="ISO 8601, exclusive; UTC if naive.")]


@router.get("/events/search", response_model=EventList, summary="Search user interactions")
def search_events(
    caller: Admin,
    text: Annotated[str, Query(min_length=1, max_length=2000, description="What they are like.")],
    top_k: Annotated[int, Query(ge=1, le=1000)] = 10,
    user: Name = None,
    category: Name = None,
    type: Annotated[str | None, Query(max_length=64, description="The event type.")] = None,
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    """The stored interactions most similar to ``text`` (``medkb events search --json``),
    best first, filtered by user, category, type and time."""
    hits = caller.kb.similar_events(
        text,
        k=top_k,
        user=user,
        category=category,
        since=since,
        until=until,
        event_type=type,
    )
    return {"query": text, "events": [hit.to_dict() for hit in hits]}
