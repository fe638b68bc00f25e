"""The parquet (Arrow) shape of an export record, and back.

Only imported when parquet is asked for: ``pyarrow`` is the optional ``parquet`` extra.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from medkb.models import VECTOR_FIELDS
from medkb.transfer.records import METADATA_TEXT, Record, flatten

_SOURCE = pa.struct(
    [
        ("document", pa.string()),
        ("object_key", pa.string()),
        ("page", pa.int64()),
        ("section", pa.string()),
        ("excerpt", pa.string()),
        ("url", pa.string()),
    ]
)
_RELATION = pa.struct(
    [
        ("target_id", pa.string()),
        ("type", pa.string()),
        ("confidence", pa.float64()),
        ("origin", pa.string()),
    ]
)
_TEXT_COLUMNS = ("id", "tenant_id", "question", "response", *METADATA_TEXT)


def export_schema(*, include_embeddings: bool) -> pa.Schema:
    """The parquet schema of an export (column order as :func:`records.columns`)."""
    fields = [pa.field(name, pa.string()) for name in _TEXT_COLUMNS]
    fields += [
        pa.field("tags", pa.list_(pa.string())),
        pa.field("is_active", pa.bool_()),
        pa.field("extra", pa.string()),  # JSON: its keys and value types vary per pair
        pa.field("created_at", pa.string()),  # ISO 8601, exactly as stored
        pa.field("updated_at", pa.string()),
        pa.field("sources", pa.list_(_SOURCE)),
        pa.field("relations", pa.list_(_RELATION)),
    ]
    if include_embeddings:
        fields.append(pa.field("embedding_model", pa.string()))
        fields += [pa.field(f"{n}_embedding", pa.list_(pa.float32())) for n in VECTOR_FIELDS]
    return pa.schema(fields)


def to_arrow_row(record: Record, *, include_embeddings: bool) -> dict[str, Any]:
    """One record as a row of :func:`export_schema`."""
    row = flatten(record, include_embeddings=include_embeddings)
    row["extra"] = json.dumps(row["extra"] or {}, ensure_ascii=False)
    return row


def from_arrow_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row read from parquet, with ``extra`` decoded (flat, ready for ``unflatten``)."""
    if isinstance(row.get("extra"), str):
        row["extra"] = json.loads(row["extra"])
    return row
