"""The relational side of ``medkb reembed``: staged vectors and the one switch transaction.

``qa_embeddings_next`` holds the new model's three vectors per pair, tagged with the pair's
``content_hash`` at the time it was embedded. A pair written since then (its hash moved on)
or created since (no staged rows) is *stale* and embedded again; a deleted pair's staged
rows go with it (``ON DELETE CASCADE``). :func:`switch` checks, under the write lock, that
nothing is stale and then, in ONE transaction, moves the staged vectors into
``qa_embeddings`` and records the new model, dimension and collection in ``kb_info``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from medkb.models import VECTOR_FIELDS, Embeddings, QAPair
from medkb.stores.relational.schema import embeddings, embeddings_next, kb_info, qa
from medkb.stores.vector.base import COLLECTION
from medkb.stores.vector.registry import COLLECTION_KEY

#: kb_info keys of a re-embed in progress, and of the collection left to drop after a switch.
TARGET_MODEL, TARGET_COLLECTION = "reembed_model", "reembed_collection"
RETIRED_COLLECTION, RETIRED_DIMENSION = "reembed_retired_collection", "reembed_retired_dimension"


@dataclass(frozen=True)
class Switched:
    """What the switch transaction replaced."""

    old_model: str
    old_collection: str
    old_dimension: int


def read_info(conn: sa.Connection) -> dict[str, str]:
    """Every ``kb_info`` entry."""
    return {row.key: row.value for row in conn.execute(sa.select(kb_info))}


def set_info(conn: sa.Connection, values: Mapping[str, str | None]) -> None:
    """Write ``kb_info`` entries; ``None`` removes one."""
    keys = list(values)
    conn.execute(kb_info.delete().where(kb_info.c.key.in_(keys)))
    rows = [{"key": k, "value": v} for k, v in values.items() if v is not None]
    if rows:
        conn.execute(kb_info.insert(), rows)


def _stale_query() -> sa.Select[tuple[str, str, str]]:
    staged = embeddings_next.alias("staged")
    joined = qa.outerjoin(staged, sa.and_(staged.c.qa_id == qa.c.id, staged.c.field == "combined"))
    return (
        sa.select(qa.c.id, qa.c.tenant_id, qa.c.content_hash)
        .select_from(joined)
        .where(sa.or_(staged.c.qa_id.is_(None), staged.c.source_hash != qa.c.content_hash))
        .order_by(qa.c.id)
    )


def stale_pairs(conn: sa.Connection, *, limit: int) -> list[tuple[str, str, str]]:
    """Up to ``limit`` (id, tenant, content hash) of pairs whose staged vectors are missing
    or older than the pair."""
    return [tuple(row) for row in conn.execute(_stale_query().limit(limit))]  # type: ignore[misc]


def stale_count(conn: sa.Connection) -> int:
    """How many pairs still need (re-)embedding before the switch."""
    return int(
        conn.execute(sa.select(sa.func.count()).select_from(_stale_query().subquery())).scalar_one()
    )


def stage(
    conn: sa.Connection,
    batch: Sequence[QAPair],
    vectors: Sequence[Embeddings],
    *,
    source_hashes: Mapping[str, str],
    new_hashes: Mapping[str, str],
) -> None:
    """Replace the staged vectors of ``batch``, tagged with the hashes they were made from."""
    ids = [pair.id for pair in batch]
    conn.execute(embeddings_next.delete().where(embeddings_next.c.qa_id.in_(ids)))
    present = set(conn.execute(sa.select(qa.c.id).where(qa.c.id.in_(ids))).scalars())
    rows = [
        {
            "qa_id": pair.id,
            "field": name,
            "model_id": vec.model_id,
            "dimension": int(vec.get(name).shape[0]),
            "vector": np.asarray(vec.get(name), dtype=np.float32).tobytes(),
            "source_hash": source_hashes[pair.id],
            "new_hash": new_hashes[pair.id],
        }
        for pair, vec in zip(batch, vectors, strict=True)
        if pair.id in present  # deleted meanwhile: nothing to stage
        for name in VECTOR_FIELDS
    ]
    if rows:
        conn.execute(embeddings_next.insert(), rows)


def clear_staged(conn: sa.Connection) -> None:
    """Forget every staged vector (a re-embed to another model starts over)."""
    conn.execute(embeddings_next.delete())


def lock_writers(conn: sa.Connection) -> None:
    """Hold off every writer until this transaction ends.

    PostgreSQL: a table lock that conflicts with writes. SQLite: writing ``kb_info`` first
    takes the database's single write lock, and the reads that follow see the latest data.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"LOCK TABLE {qa.name} IN SHARE ROW EXCLUSIVE MODE"))
    conn.execute(
        kb_info.update().where(kb_info.c.key == TARGET_MODEL).values(value=kb_info.c.value)
    )


def switch(
    conn: sa.Connection, *, model_id: str, dimension: int, collection: str
) -> Switched | None:
    """Make the staged model the active one, in the caller's transaction.

    Returns ``None`` (changing nothing) when pairs went stale since the last catch-up; the
    caller embeds them and tries again.
    """
    lock_writers(conn)
    if stale_count(conn):
        return None
    info = read_info(conn)
    old = Switched(
        old_model=info["embedding_model"],
        old_collection=info.get(COLLECTION_KEY) or COLLECTION,
        old_dimension=int(info["embedding_dimension"]),
    )
    set_info(
        conn,
        {
            "embedding_model": model_id,
            "embedding_dimension": str(dimension),
            COLLECTION_KEY: collection,
            TARGET_MODEL: None,
            TARGET_COLLECTION: None,
            RETIRED_COLLECTION: old.old_collection,
            RETIRED_DIMENSION: str(old.old_dimension),
        },
    )
    _move_staged(conn)
    return old


def _move_staged(conn: sa.Connection) -> None:
    """Replace the active vectors by the staged ones and rehash the pairs for the new model."""
    columns = ["qa_id", "field", "model_id", "dimension", "vector"]
    conn.execute(embeddings.delete())
    conn.execute(
        embeddings.insert().from_select(
            columns, sa.select(*(embeddings_next.c[c] for c in columns))
        )
    )
    new_hash = (
        sa.select(embeddings_next.c.new_hash)
        .where(embeddings_next.c.qa_id == qa.c.id, embeddings_next.c.field == "combined")
        .scalar_subquery()
    )
    conn.execute(qa.update().values(content_hash=new_hash))
    clear_staged(conn)


def foreign_vectors(conn: sa.Connection, *, model_id: str, limit: int) -> list[tuple[str, str]]:
    """(id, tenant) of pairs whose active vectors are not ``model_id``'s: written by a
    process still running the old model after the switch."""
    query = (
        sa.select(qa.c.id, qa.c.tenant_id)
        .where(qa.c.id.in_(sa.select(embeddings.c.qa_id).where(embeddings.c.model_id != model_id)))
        .order_by(qa.c.id)
        .limit(limit)
    )
    return [(row.id, row.tenant_id) for row in conn.execute(query)]
