"""Event envelopes and payload schemas: what is accepted, what is refused and why, and
the published JSON schemas agreeing with the validator."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medkb.errors import InputError
from medkb.stream.events import EVENT_TYPES, InvalidEvent, make_event, parse_event, schema

EXAMPLES: dict[str, dict[str, Any]] = {
    "qa.upserted": {
        "id": "q1",
        "question": "What is asthma?",
        "response": "A long-term disease of the airways.",
        "metadata": {"category": "Respiratory", "tags": ["asthma"], "extra": {"cui": "C0004096"}},
        "sources": [{"document": "faq.md", "page": 2}],
    },
    "qa.deleted": {"id": "q1"},
    "document.uploaded": {"key": "raw/abc/faq.pdf", "source_id": "faq-2024"},
    "feedback.given": {"query_log_id": 7, "rating": 5, "comment": "clear"},
    "behaviour.event": {
        "user_id": "u1",
        "session_id": "s1",
        "event_type": "buy",
        "item_id": "i9",
        "category": "cardiology",
        "price": 12.5,
        "timestamp": "2026-12-05T06:00:00Z",
    },
}


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_each_type_round_trips_and_matches_its_json_schema(event_type: str) -> None:
    body = make_event(event_type, EXAMPLES[event_type], tenant="clinic")
    jsonschema.validate(json.loads(json.dumps(body)), schema(event_type))
    event = parse_event(json.dumps(body))
    assert (event.type, event.tenant, event.id) == (event_type, "clinic", body["id"])
    assert event.payload.model_dump(mode="json", exclude_unset=True) == EXAMPLES[event_type]


def test_every_registered_type_has_an_example_and_a_schema() -> None:
    assert {t for t, _v in EVENT_TYPES} == set(EXAMPLES)
    for event_type, version in EVENT_TYPES:
        shown = schema(event_type, version)
        assert shown["properties"]["type"] == {"const": event_type}
        assert shown["properties"]["payload"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{oops", "Not JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"type": "qa.deleted", "payload": {"id": "x"}}), "id: Field required"),
        (json.dumps(make_event("qa.deleted", {"id": "x"}, version=2)), "Unknown event type"),
        (json.dumps(make_event("qa.flooded", {})), "known: qa.upserted v1"),
        (json.dumps(make_event("qa.deleted", {"id": ""})), "id: String should have at least"),
        (json.dumps(make_event("qa.deleted", {"id": "x", "why": 1})), "why: Extra inputs"),
        (json.dumps(make_event("feedback.given", {"query_log_id": 1, "rating": 9})), "rating"),
        (
            json.dumps(make_event("behaviour.event", {"user_id": "u", "event_type": "v"})),
            "timestamp: Field required",
        ),
    ],
)
def test_invalid_events_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason.replace(".", r"\.")):
        parse_event(raw)


def test_make_event_refuses_unknown_envelope_fields() -> None:
    with pytest.raises(InputError, match="priority"):
        make_event("qa.deleted", {"id": "x"}, priority=1)


@given(st.text(max_size=200))
def test_any_text_is_either_an_event_or_an_invalid_event(text: str) -> None:
    with contextlib.suppress(InvalidEvent):  # a clear refusal, never another exception
        parse_event(text)
