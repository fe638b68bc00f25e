"""An in-memory copy of one tenant's stored ``combined`` vectors, for similarity linking.

Linking a batch needs every stored vector of the tenant (``graph.linking``). Reading them
all from the relational store for every batch costs O(KB size) per batch, so ingest slows
as the knowledge base grows. A :class:`LinkIndex` reads them once, when a writer first
links, and is then kept up to date at a cost that does not grow with the knowledge base:

* the writer that owns it adds what it commits (:meth:`LinkIndex.put`,
  :meth:`LinkIndex.remove`) once the transaction has committed;
* before each batch, :meth:`LinkIndex.refresh` catches up with other writers (other
  processes, other tenant views): it reads the ``(id, content_hash)`` of the tenant's
  pairs stamped (``updated_at``) at most :data:`CATCH_UP_OVERLAP` before the newest stamp
  it has seen, and re-reads the vector of each id whose hash differs from its own; then it
  counts the tenant's pairs, and when the count differs from its own (a pair deleted, or
  written with an older stamp) it compares the whole id list and reads what it lacks;
  after a ``medkb reembed`` switch (``kb_info``'s active collection changed: every vector
  replaced, no stamp moved) it loads everything again.

The vectors still come from the relational store, the system of record (DESIGN), never
from the vector store. What is missed: an *update* (not an insert or delete) of an
existing pair by another process, committed more than :data:`CATCH_UP_OVERLAP` after
that process took its timestamp, until this writer is opened again — ``medkb sync
verify`` reports a similarity link missing that way, and ``sync repair`` adds it.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from medkb.graph.knn import Chunk
from medkb.stores.relational import pairs, vectors
from medkb.stores.relational.schema import kb_info
from medkb.stores.vector.registry import COLLECTION_KEY

#: How far behind the newest stamp seen a catch-up reads again: another writer's rows
#: are stamped when its commit starts, and land at most this much later.
CATCH_UP_OVERLAP = timedelta(seconds=5)


class LinkIndex:
    """One tenant's stored ``combined`` vectors, in memory (see the module docstring).

    Not thread-safe on its own: hold :attr:`lock` around a refresh, the scan of its
    chunks, and the writes that follow.
    """

    def __init__(self, tenant_id: str, *, chunk_rows: int = vectors.CHUNK_ROWS) -> None:
        self.tenant_id, self.chunk_rows = tenant_id, chunk_rows
        self.lock = threading.RLock()
        self.blocks: dict[int, _Block] = {}  # one per vector dimension
        self.hashes: dict[str, str] = {}  # id → content_hash of the vector held
        self.stamp: datetime | None = None  # newest updated_at seen; None: not loaded
        self.collection: str | None = None  # kb_info's active collection when loaded

    def __len__(self) -> int:
        return len(self.hashes)

    def refresh(self, conn: sa.Connection) -> None:
        """Load the tenant's vectors (first call) or catch up with other writers."""
        collection = _active_collection(conn)
        if self.stamp is not None and collection != self.collection:
            self.blocks, self.hashes, self.stamp = {}, {}, None  # re-embedded: start again
        if self.stamp is None:
            self._load(conn)
            self.collection = collection
        else:
            self._catch_up(conn)

    def chunks(self, *, exclude: Collection[str] = ()) -> Iterator[Chunk]:
        """The vectors held, ``chunk_rows`` at a time, without the ids in ``exclude``."""
        for block in self.blocks.values():
            yield from block.chunks(self.chunk_rows, exclude=exclude)

    def put(
        self, found: Mapping[str, np.ndarray], hashes: Mapping[str, str], *, stamp: datetime
    ) -> None:
        """Hold ``found`` (id → vector; replacing what was held), written at ``stamp``."""
        self.remove(found)
        by_dim: dict[int, list[str]] = {}
        for qa_id, vector in found.items():
            by_dim.setdefault(vector.shape[0], []).append(qa_id)
            self.hashes[qa_id] = hashes.get(qa_id, "")  # unknown: read again next time
        for dim, ids in by_dim.items():
            block = self.blocks.setdefault(dim, _Block(dim))
            block.append(ids, np.stack([found[i] for i in ids]))
        self._seen(stamp)

    def remove(self, ids: Collection[str]) -> None:
        """Forget ``ids`` (those not held are ignored)."""
        for qa_id in ids:
            if self.hashes.pop(qa_id, None) is not None:
                for block in self.blocks.values():
                    block.kill(qa_id)

    def _load(self, conn: sa.Connection) -> None:
        # Hashes before vectors: a write landing in between leaves a newer vector under an
        # older hash, which the next catch-up reads again (never the other way round).
        known = vectors.pair_hashes(conn, tenant_id=self.tenant_id)
        stamp = max((row[2] for row in known), default=datetime.min.replace(tzinfo=UTC))
        hashes = {qa_id: digest for qa_id, digest, _ in known}
        for ids, matrix in vectors.field_chunks(conn, tenant_id=self.tenant_id):
            self.put(dict(zip(ids, matrix, strict=True)), hashes, stamp=stamp)
        self._seen(stamp)

    def _catch_up(self, conn: sa.Connection) -> None:
        assert self.stamp is not None
        recent = vectors.pair_hashes(
            conn, tenant_id=self.tenant_id, since=self.stamp - CATCH_UP_OVERLAP
        )
        stale = {qa_id: digest for qa_id, digest, _ in recent if self.hashes.get(qa_id) != digest}
        self._reread(conn, stale)
        for _, _, stamp in recent:
            self._seen(stamp)
        if pairs.count_pairs(conn, tenant_id=self.tenant_id) != len(self.hashes):
            self._reconcile(conn)

    def _reconcile(self, conn: sa.Connection) -> None:
        """Compare the whole id list: drop deleted pairs, read the ones not held."""
        rows = vectors.pair_hashes(conn, tenant_id=self.tenant_id)
        known = {qa_id: digest for qa_id, digest, _ in rows}
        self.remove([qa_id for qa_id in self.hashes if qa_id not in known])
        self._reread(conn, {i: d for i, d in known.items() if self.hashes.get(i) != d})

    def _reread(self, conn: sa.Connection, stale: Mapping[str, str]) -> None:
        if not stale:
            return
        found = vectors.field_vectors(conn, sorted(stale))
        self.remove([qa_id for qa_id in stale if qa_id not in found])
        self.put(found, stale, stamp=self.stamp or datetime.min.replace(tzinfo=UTC))

    def _seen(self, stamp: datetime) -> None:
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)  # SQLite drops the zone
        if self.stamp is None or stamp > self.stamp:
            self.stamp = stamp


def _active_collection(conn: sa.Connection) -> str | None:
    query = sa.select(kb_info.c.value).where(kb_info.c.key == COLLECTION_KEY)
    return conn.execute(query).scalar_one_or_none()


class _Block:
    """The vectors of one dimension: rows appended, dead rows skipped, compacted when many."""

    def __init__(self, dim: int) -> None:
        self.matrix = np.empty((0, dim), dtype=np.float32)
        self.ids: list[str | None] = []  # None: a dead row
        self.rows: dict[str, int] = {}
        self.dead: list[int] = []  # sorted

    def append(self, ids: list[str], matrix: np.ndarray) -> None:
        size, need = len(self.ids), len(self.ids) + len(ids)
        if need > self.matrix.shape[0]:
            rows = max(need, 2 * self.matrix.shape[0], 1024)
            grown = np.empty((rows, self.matrix.shape[1]), dtype=np.float32)
            grown[:size] = self.matrix[:size]
            self.matrix = grown
        self.matrix[size:need] = matrix
        self.rows.update((qa_id, size + i) for i, qa_id in enumerate(ids))
        self.ids.extend(ids)

    def kill(self, qa_id: str) -> None:
        row = self.rows.pop(qa_id, None)
        if row is None:
            return
        self.ids[row] = None
        bisect.insort(self.dead, row)
        if len(self.dead) > max(1024, len(self.ids) // 4):
            self._compact()

    def _compact(self) -> None:
        live = [row for row, qa_id in enumerate(self.ids) if qa_id is not None]
        self.matrix = self.matrix[live].copy()
        self.ids = [self.ids[row] for row in live]
        self.rows = {qa_id: row for row, qa_id in enumerate(self.ids) if qa_id is not None}
        self.dead = []

    def chunks(self, size: int, *, exclude: Collection[str]) -> Iterator[Chunk]:
        skip = sorted({*self.dead, *(self.rows[i] for i in exclude if i in self.rows)})
        for start in range(0, len(self.ids), size):
            end = min(start + size, len(self.ids))
            ids, matrix = self.ids[start:end], self.matrix[start:end]
            if bisect.bisect_left(skip, start) == bisect.bisect_left(skip, end):
                yield ids, matrix  # type: ignore[misc]  # no dead row in this slice
                continue
            gone = set(skip[bisect.bisect_left(skip, start) : bisect.bisect_left(skip, end)])
            keep = [row for row in range(start, end) if row not in gone]
            yield [self.ids[row] for row in keep], self.matrix[keep]  # type: ignore[misc]
