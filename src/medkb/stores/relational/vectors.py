"""Reading the stored embeddings (``qa_embeddings``) in bounded chunks.

The relational store keeps every pair's three vectors as float32 bytes; this module hands
one field of a tenant's pairs back as ``(ids, matrix)`` chunks from one streamed query,
so a scan over 100,000 pairs never holds more than one chunk.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime

import numpy as np
import sqlalchemy as sa

from medkb.stores.relational.schema import embeddings, qa

#: Rows read per round trip (2,048 × 384 float32 ≈ 3 MB).
CHUNK_ROWS = 2048


def field_chunks(
    conn: sa.Connection,
    *,
    tenant_id: str,
    field: str = "combined",
    size: int = CHUNK_ROWS,
    exclude: Collection[str] = (),
) -> Iterator[tuple[list[str], np.ndarray]]:
    """``field`` vectors of ``tenant_id``'s pairs, ``size`` rows at a time.

    One streamed query (a server-side cursor on PostgreSQL), so a scan costs one pass
    whatever the size. Ids in ``exclude`` are left out. Each chunk holds vectors of one
    dimension: rows of another (a pair written by a process still on an older model) go
    to their own chunk.
    """
    query = (
        sa.select(embeddings.c.qa_id, embeddings.c.vector)
        .join(qa, qa.c.id == embeddings.c.qa_id)
        .where(qa.c.tenant_id == tenant_id, embeddings.c.field == field)
    )
    result = conn.execute(query.execution_options(yield_per=size))
    for rows in result.partitions():
        yield from _by_dimension([(r.qa_id, r.vector) for r in rows if r.qa_id not in exclude])


def field_vectors(
    conn: sa.Connection, ids: Sequence[str], *, field: str = "combined"
) -> dict[str, np.ndarray]:
    """The stored ``field`` vector of each of ``ids`` that has one."""
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(ids), 1000):
        rows = conn.execute(
            sa.select(embeddings.c.qa_id, embeddings.c.vector).where(
                embeddings.c.qa_id.in_(list(ids[start : start + 1000])), embeddings.c.field == field
            )
        )
        found.update((r.qa_id, np.frombuffer(r.vector, dtype=np.float32)) for r in rows)
    return found


def _by_dimension(rows: list[tuple[str, bytes]]) -> Iterator[tuple[list[str], np.ndarray]]:
    sizes = sorted({len(blob) for _, blob in rows})
    for size in sizes:
        same = [(qa_id, blob) for qa_id, blob in rows if len(blob) == size]
        matrix = np.frombuffer(b"".join(blob for _, blob in same), dtype=np.float32)
        yield [qa_id for qa_id, _ in same], matrix.reshape(len(same), size // 4)


def pair_hashes(
    conn: sa.Connection, *, tenant_id: str, since: datetime | None = None
) -> list[tuple[str, str, datetime]]:
    """``(id, content_hash, updated_at)`` of ``tenant_id``'s pairs (stamped ``since`` or later).

    What changed in a pair's vectors changes its content hash (text and model id), so an
    in-memory copy of the vectors (``graph.index``) re-reads only the ids whose hash moved.
    """
    query = sa.select(qa.c.id, qa.c.content_hash, qa.c.updated_at).where(
        qa.c.tenant_id == tenant_id
    )
    if since is not None:
        query = query.where(qa.c.updated_at >= since)
    return [(row.id, row.content_hash, row.updated_at) for row in conn.execute(query)]
