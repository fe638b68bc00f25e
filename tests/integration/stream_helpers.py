"""Events and checks shared by the streaming tests."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from medkb.stores.relational.schema import behaviour_events, stream_applied
from medkb.stream.events import make_event


def qa_event(n: int, *, event_id: str | None = None, **fields: Any) -> str:
    payload = {
        "id": f"stream-{n:04d}",
        "question": f"What is the treatment for condition number {n}?",
        "response": f"Condition {n} is treated with rest, fluids and follow-up visits.",
        "metadata": {"category": "Streaming", "tags": ["stream"]},
        **fields,
    }
    return json.dumps(make_event("qa.upserted", payload, id=event_id or f"qa-{n}"))


def behaviour_event(n: int, *, event_id: str | None = None) -> str:
    payload = {
        "user_id": f"user-{n % 7}",
        "session_id": f"s-{n % 3}",
        "event_type": "view",
        "item_id": f"item-{n}",
        "category": "cardiology" if n % 2 else "diabetes",
        "price": float(n),
        "timestamp": "2026-12-05T06:00:00+00:00",
    }
    return json.dumps(make_event("behaviour.event", payload, id=event_id or f"b-{n}"))


def counts(engine: sa.Engine) -> dict[str, int]:
    """Rows of the applied-event and behaviour tables."""
    with engine.connect() as conn:
        return {
            "applied": conn.execute(
                sa.select(sa.func.count()).select_from(stream_applied)
            ).scalar_one(),
            "behaviour": conn.execute(
                sa.select(sa.func.count()).select_from(behaviour_events)
            ).scalar_one(),
        }
