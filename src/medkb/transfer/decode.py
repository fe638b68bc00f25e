"""Checking one imported record and turning it into medkb's objects.

Everything is checked before anything is written: a wrong type, a missing text, an
unknown key or a malformed vector is an :class:`~medkb.errors.InputError` that names the
line and the field.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from medkb.errors import InputError
from medkb.ingest.writer import check_lengths
from medkb.models import VECTOR_FIELDS, Embeddings, QAMetadata, QAPair, Relation, Source
from medkb.transfer.records import METADATA_TEXT

_META_TEXT = tuple(key for key in METADATA_TEXT if key != "language")  # defaults to "en"
_SOURCE_TEXT = ("object_key", "section", "excerpt", "url")
_ORIGINS = ("similarity", "metadata", "manual")
_RECORD_KEYS = {"id", "tenant_id", "question", "response", "metadata", "sources", "relations"}
_RECORD_KEYS |= {"created_at", "updated_at", "embeddings"}


@dataclass
class Item:
    """One decoded record: the pair, its vectors (if exported), edges and timestamps."""

    pair: QAPair
    embeddings: Embeddings | None
    relations: list[Relation]
    created_at: datetime | None
    updated_at: datetime | None


def fail(where: str, problem: str) -> InputError:
    """The error for a bad record: where, what, and what to do."""
    return InputError(
        f"{where}: {problem}. Fix that record (or export the knowledge base again with "
        "'medkb export') and import again; nothing was imported."
    )


def decode(record: Any, *, where: str) -> Item:
    """Check ``record`` (a nested export record) and build its :class:`Item`."""
    if not isinstance(record, dict):
        raise fail(where, "a record must be a JSON object")
    unknown = set(record) - _RECORD_KEYS
    if unknown:
        raise fail(where, f"unknown key(s) {', '.join(sorted(unknown))}")
    pair = QAPair(
        id=_text(record, "id", where),
        question=_text(record, "question", where),
        response=_text(record, "response", where),
        metadata=_metadata(record.get("metadata") or {}, where),
        sources=[_source(item, where) for item in _list(record, "sources", where)],
    )
    try:
        check_lengths(pair)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from exc
    return Item(
        pair=pair,
        embeddings=_embeddings(record.get("embeddings"), where),
        relations=[_relation(pair.id, e, where) for e in _list(record, "relations", where)],
        created_at=_timestamp(record.get("created_at"), "created_at", where),
        updated_at=_timestamp(record.get("updated_at"), "updated_at", where),
    )


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise fail(where, f"{key!r} must be a non-empty string")
    return value


def _optional_text(data: dict[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise fail(where, f"{key!r} must be a string or null, not {type(value).__name__}")
    return value


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(where, f"{key!r} must be a list")
    return value


def _metadata(meta: Any, where: str) -> QAMetadata:
    if not isinstance(meta, dict):
        raise fail(where, "'metadata' must be an object")
    known = {f.name for f in dataclasses.fields(QAMetadata)}
    unknown = set(meta) - known
    if unknown:
        raise fail(where, f"unknown metadata key(s) {', '.join(sorted(unknown))}")
    tags, extra = meta.get("tags") or [], meta.get("extra") or {}
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise fail(where, "'tags' must be a list of strings")
    if not isinstance(extra, dict):
        raise fail(where, "'extra' must be an object")
    is_active = meta.get("is_active", True)
    if not isinstance(is_active, bool):
        raise fail(where, "'is_active' must be true or false")
    return QAMetadata(
        **{key: _optional_text(meta, key, where) for key in _META_TEXT},
        language=_optional_text(meta, "language", where) or "en",
        tags=list(tags),
        is_active=is_active,
        extra=dict(extra),
    )


def _source(item: Any, where: str) -> Source:
    if not isinstance(item, dict) or not isinstance(item.get("document"), str):
        raise fail(where, "each source must be an object with a 'document' string")
    page = item.get("page")
    if page is not None and (isinstance(page, bool) or not isinstance(page, int)):
        raise fail(where, "a source's 'page' must be an integer or null")
    texts = {key: _optional_text(item, key, where) for key in _SOURCE_TEXT}
    return Source(document=item["document"], page=page, **texts)


def _relation(source_id: str, item: Any, where: str) -> Relation:
    if not isinstance(item, dict):
        raise fail(where, "each relation must be an object")
    confidence = item.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise fail(where, "a relation's 'confidence' must be a number")
    if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        raise fail(where, f"a relation's 'confidence' must lie in [0, 1], not {confidence}")
    origin = item.get("origin", "manual")
    if origin not in _ORIGINS:
        raise fail(where, f"a relation's 'origin' must be one of {', '.join(_ORIGINS)}")
    return Relation(
        source_id=source_id,
        target_id=_text(item, "target_id", where),
        type=_text(item, "type", where),
        confidence=float(confidence),
        origin=origin,
    )


def _timestamp(value: Any, key: str, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise fail(where, f"{key!r} must be an ISO 8601 timestamp, not {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _embeddings(data: Any, where: str) -> Embeddings | None:
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("model_id"), str):
        raise fail(where, "'embeddings' must be an object with a 'model_id' string")
    vectors = {}
    for name in VECTOR_FIELDS:
        try:
            vectors[name] = np.asarray(data.get(name), dtype=np.float32)
        except (TypeError, ValueError):
            raise fail(where, f"the {name} embedding must be a list of numbers") from None
    shapes = {vector.shape for vector in vectors.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1 or not next(iter(shapes))[0]:
        raise fail(where, "the three embeddings must be non-empty lists of the same length")
    if not all(np.isfinite(vector).all() for vector in vectors.values()):
        raise fail(where, "the embeddings must hold finite numbers only")
    return Embeddings(**vectors, model_id=data["model_id"])
