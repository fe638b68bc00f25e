"""The exported record: one Q&A pair with everything medkb knows about it, as plain data.

Export reads the relational store in id-ordered batches (keyset pagination, constant
memory) and turns each pair into a nested, JSON-ready dict::

    {"id", "tenant_id", "question", "response",
     "metadata": {category, subcategory, source, source_type, author, published, language,
                  difficulty, tags, is_active, extra},
     "sources": [{document, object_key, page, section, excerpt, url}],
     "relations": [{target_id, type, confidence, origin}],      # outgoing edges
     "created_at", "updated_at",                                 # ISO 8601
     "embeddings": {model_id, dimension, question, response, combined}}  # optional

Tabular formats (CSV, parquet, SQL) use :func:`flatten`: the metadata keys become columns,
and the three vectors become ``question_embedding`` … with ``embedding_model``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from medkb.models import VECTOR_FIELDS, Embeddings, QAPair, Relation
from medkb.stores.relational import pairs, relations
from medkb.stores.relational.schema import qa

Record = dict[str, Any]

#: The metadata keys whose values are text (or null).
METADATA_TEXT: tuple[str, ...] = (
    "category",
    "subcategory",
    "source",
    "source_type",
    "author",
    "published",
    "language",
    "difficulty",
)
#: Columns of the tabular formats, in order (embedding columns come last, when included).
METADATA_COLUMNS: tuple[str, ...] = (*METADATA_TEXT, "tags", "is_active", "extra")
BASE_COLUMNS: tuple[str, ...] = (
    "id",
    "tenant_id",
    "question",
    "response",
    *METADATA_COLUMNS,
    "created_at",
    "updated_at",
    "sources",
    "relations",
)
EMBEDDING_COLUMNS: tuple[str, ...] = (
    "embedding_model",
    *(f"{name}_embedding" for name in VECTOR_FIELDS),
)


def columns(*, include_embeddings: bool) -> tuple[str, ...]:
    """The tabular column names, with or without the embedding columns."""
    return BASE_COLUMNS + (EMBEDDING_COLUMNS if include_embeddings else ())


def iter_id_batches(
    conn: sa.Connection,
    *,
    tenant_id: str,
    filters: Mapping[str, Sequence[str]] | None = None,
    batch_size: int = 1000,
) -> Iterator[list[str]]:
    """Ids of the tenant's pairs matching ``filters``, in id order, ``batch_size`` at a time.

    Keyset pagination (``id > last``) keeps each query cheap however deep the export is.
    """
    last: str | None = None
    while True:
        query = sa.select(qa.c.id).where(qa.c.tenant_id == tenant_id)
        query = query.where(*pairs.filter_clause(filters))
        if last is not None:
            query = query.where(qa.c.id > last)
        ids = [row.id for row in conn.execute(query.order_by(qa.c.id).limit(batch_size))]
        if not ids:
            return
        yield ids
        last = ids[-1]


def count_matching(
    conn: sa.Connection, *, tenant_id: str, filters: Mapping[str, Sequence[str]] | None
) -> int:
    """How many pairs an export with these filters will write."""
    query = sa.select(sa.func.count()).select_from(qa).where(qa.c.tenant_id == tenant_id)
    return int(conn.execute(query.where(*pairs.filter_clause(filters))).scalar_one())


def load_records(
    conn: sa.Connection, ids: Sequence[str], *, tenant_id: str, include_embeddings: bool
) -> list[Record]:
    """The export records of ``ids``, in the order given."""
    found = pairs.get_pairs(conn, ids, tenant_id=tenant_id)
    edges = relations.outgoing(conn, ids, tenant_id=tenant_id)
    vectors = pairs.get_embeddings(conn, ids) if include_embeddings else {}
    return [
        to_record(found[qa_id], edges.get(qa_id, []), vectors.get(qa_id))
        for qa_id in ids
        if qa_id in found
    ]


def to_record(pair: QAPair, edges: Sequence[Relation], vectors: Embeddings | None) -> Record:
    """One pair as a nested, JSON-ready export record."""
    record: Record = {
        "id": pair.id,
        "tenant_id": pair.tenant_id,
        "question": pair.question,
        "response": pair.response,
        # vars() rather than dataclasses.asdict(): no deep copy, same keys in field order.
        "metadata": dict(vars(pair.metadata)),
        "sources": [dict(vars(source)) for source in pair.sources],
        "relations": [
            {
                "target_id": e.target_id,
                "type": e.type,
                "confidence": e.confidence,
                "origin": e.origin,
            }
            for e in edges
        ],
        "created_at": pair.created_at,
        "updated_at": pair.updated_at,
    }
    if vectors is not None:
        record["embeddings"] = {
            "model_id": vectors.model_id,
            "dimension": int(vectors.question.shape[0]),
            **{name: vectors.get(name).tolist() for name in VECTOR_FIELDS},
        }
    return record


def flatten(record: Record, *, include_embeddings: bool) -> Record:
    """A nested record as one flat row of :func:`columns` (values stay Python objects)."""
    row: Record = {key: record[key] for key in ("id", "tenant_id", "question", "response")}
    row.update({key: record["metadata"].get(key) for key in METADATA_COLUMNS})
    for key in ("created_at", "updated_at", "sources", "relations"):
        row[key] = record[key]
    if include_embeddings:
        vectors = record.get("embeddings") or {}
        row["embedding_model"] = vectors.get("model_id")
        for name in VECTOR_FIELDS:
            row[f"{name}_embedding"] = vectors.get(name)
    return row


def unflatten(row: Mapping[str, Any]) -> Record:
    """A flat row (CSV, parquet) back into a nested record."""
    record: Record = {key: row.get(key) for key in ("id", "tenant_id", "question", "response")}
    record["metadata"] = {key: row[key] for key in METADATA_COLUMNS if key in row}
    for key in ("created_at", "updated_at", "sources", "relations"):
        record[key] = row.get(key)
    if row.get("embedding_model"):
        question = row.get("question_embedding") or []
        record["embeddings"] = {
            "model_id": row["embedding_model"],
            "dimension": len(question),
            **{name: row.get(f"{name}_embedding") for name in VECTOR_FIELDS},
        }
    return record
