"""Versioned event types and the envelope every event travels in.

An event on the bus is one JSON object::

    {"id": "evt-1", "type": "qa.upserted", "version": 1, "tenant": "default",
     "time": "2026-12-05T06:00:00Z", "payload": {...}}

``id`` identifies the event for idempotency: a redelivered event is applied once.
Each ``(type, version)`` has a pydantic model whose JSON schema :func:`schema` returns;
:func:`parse_event` validates raw bytes against the envelope and the payload's model and
raises :class:`InvalidEvent` with a reason a person can act on.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medkb.errors import InputError
from medkb.models import DEFAULT_TENANT, MAX_ID_CHARS, MAX_TENANT_CHARS

_M = TypeVar("_M", bound=BaseModel)


class InvalidEvent(InputError):
    """An event that cannot be applied as it is: bad JSON, unknown type, wrong payload."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceV1(_Strict):
    """A cited source of a pair."""

    document: str = Field(min_length=1, description="Document id or URL.")
    page: int | None = Field(None, ge=0, description="Page number, when known.")
    section: str | None = Field(None, description="Section title, when known.")


class MetadataV1(_Strict):
    """A pair's metadata (``medkb.models.QAMetadata``); unknown keys go in ``extra``."""

    category: str | None = Field(None, description="Category (filterable).")
    subcategory: str | None = Field(None, description="Subcategory.")
    source: str | None = Field(None, description="Source name (filterable).")
    source_type: str | None = Field(None, description="Source type (filterable).")
    author: str | None = Field(None, description="Author.")
    published: str | None = Field(None, description="Publication date, ISO 8601.")
    language: str = Field("en", min_length=1, max_length=16, description="Language code.")
    difficulty: str | None = Field(None, description="Difficulty level.")
    tags: list[str] = Field(default_factory=list, description="Tags.")
    is_active: bool = Field(True, description="Inactive pairs are kept but not retrieved.")
    extra: dict[str, Any] = Field(default_factory=dict, description="Anything else.")


class QAUpsertedV1(_Strict):
    """``qa.upserted`` v1: create or replace one Q&A pair."""

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS, description="The pair id.")
    question: str = Field(min_length=1, description="The question.")
    response: str = Field(min_length=1, description="The answer.")
    metadata: MetadataV1 = Field(default_factory=MetadataV1, description="Metadata.")
    sources: list[SourceV1] = Field(default_factory=list, description="Cited sources.")


class QADeletedV1(_Strict):
    """``qa.deleted`` v1: delete one Q&A pair (deleting a missing pair is a no-op)."""

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS, description="The pair id.")


class DocumentUploadedV1(_Strict):
    """``document.uploaded`` v1: ingest a file already in the object store."""

    key: str = Field(min_length=1, description="Object store key of the file.")
    source_id: str | None = Field(None, description="Document id (default: the file name).")


class FeedbackGivenV1(_Strict):
    """``feedback.given`` v1: a 1–5 rating of a logged answer (a second one replaces it)."""

    query_log_id: int = Field(ge=1, description="The query_log_id of the answer.")
    rating: int = Field(ge=1, le=5, description="1 (useless) to 5 (excellent).")
    comment: str | None = Field(None, max_length=10_000, description="Free text.")


class BehaviourEventV1(_Strict):
    """``behaviour.event`` v1: one user interaction (SPEC §D)."""

    user_id: str = Field(min_length=1, max_length=128, description="Who acted.")
    session_id: str | None = Field(None, max_length=128, description="The user's session.")
    event_type: str = Field(min_length=1, max_length=64, description="view, click, buy, ...")
    item_id: str | None = Field(None, max_length=128, description="The item acted on.")
    category: str | None = Field(None, max_length=256, description="The item's category.")
    price: float | None = Field(None, ge=0, description="The item's price.")
    timestamp: datetime = Field(description="When the user acted (ISO 8601).")


#: Every known ``(type, version)`` and its payload model.
EVENT_TYPES: dict[tuple[str, int], type[BaseModel]] = {
    ("qa.upserted", 1): QAUpsertedV1,
    ("qa.deleted", 1): QADeletedV1,
    ("document.uploaded", 1): DocumentUploadedV1,
    ("feedback.given", 1): FeedbackGivenV1,
    ("behaviour.event", 1): BehaviourEventV1,
}


class Envelope(_Strict):
    """What every event carries besides its payload."""

    id: str = Field(min_length=1, max_length=128, description="Unique event id (idempotency).")
    type: str = Field(min_length=1, description="Event type, e.g. qa.upserted.")
    version: int = Field(1, ge=1, description="Version of the type's payload schema.")
    tenant: str = Field(DEFAULT_TENANT, min_length=1, max_length=MAX_TENANT_CHARS)
    time: datetime = Field(default_factory=lambda: datetime.now(UTC), description="Produced at.")
    payload: dict[str, Any] = Field(description="The type's payload.")


class Event:
    """A validated event: its envelope and its typed payload."""

    def __init__(self, envelope: Envelope, payload: BaseModel) -> None:
        self.envelope, self.payload = envelope, payload

    @property
    def id(self) -> str:
        return self.envelope.id

    @property
    def type(self) -> str:
        return self.envelope.type

    @property
    def tenant(self) -> str:
        return self.envelope.tenant


def schema(event_type: str, version: int = 1) -> dict[str, Any]:
    """The JSON schema of the envelope with ``event_type``'s payload at ``version``."""
    model = _model(event_type, version)
    envelope = Envelope.model_json_schema()
    payload = model.model_json_schema()
    definitions = payload.pop("$defs", {})  # "#/$defs/..." references resolve at the root
    envelope["properties"]["payload"] = payload
    if definitions:
        envelope.setdefault("$defs", {}).update(definitions)
    envelope["properties"]["type"] = {"const": event_type}
    envelope["properties"]["version"] = {"const": version}
    envelope["title"] = f"{event_type} v{version}"
    return envelope


def parse_event(raw: bytes | str) -> Event:
    """Validate one raw event.

    Raises:
        InvalidEvent: the text is not a JSON object, the envelope or the payload does not
            match its schema, or the type / version is unknown; the message says which.
    """
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"Not JSON: {exc}. Each event must be one JSON object.") from exc
    if not isinstance(data, dict):
        raise InvalidEvent("An event must be a JSON object with id, type and payload.")
    envelope = _validated(Envelope, data, "envelope")
    model = _model(envelope.type, envelope.version)
    return Event(envelope, _validated(model, envelope.payload, f"{envelope.type} payload"))


def make_event(event_type: str, payload: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    """A well-formed event as a dict (a fresh id and the current time unless given)."""
    body: dict[str, Any] = {
        "id": envelope.pop("id", None) or uuid.uuid4().hex,
        "type": event_type,
        "version": envelope.pop("version", 1),
        "tenant": envelope.pop("tenant", DEFAULT_TENANT),
        "time": envelope.pop("time", None) or datetime.now(UTC).isoformat(),
        "payload": payload,
    }
    if envelope:
        raise InputError(f"Unknown envelope fields: {', '.join(sorted(envelope))}.")
    return body


def _model(event_type: str, version: int) -> type[BaseModel]:
    model = EVENT_TYPES.get((event_type, version))
    if model is None:
        known = ", ".join(f"{t} v{v}" for t, v in EVENT_TYPES)
        raise InvalidEvent(f"Unknown event type {event_type!r} v{version}; known: {known}.")
    return model


def _validated(model: type[_M], data: Any, what: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or what}: {err['msg']}" for err in exc.errors()
        )
        raise InvalidEvent(f"Invalid {what}: {problems}.") from exc
