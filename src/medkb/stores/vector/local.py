"""The default vector store: FAISS indexes in memory, a SQLite sidecar on disk. No services.

Layout of the store's directory::

    vectors.sqlite3         every record: texts, metadata, related_nodes, tenant, and the
                            three embeddings as float32 blobs. The only source of truth.
    <field>.hnsw.faiss      optional cache of an HNSW index, written on close()

On the first search the FAISS indexes are built from the sidecar (exact ``IndexFlatIP``
up to ``exact_threshold`` records, HNSW above) or, for HNSW, read from the cache when the
cache was written at the sidecar's current generation; counts and fetches read the sidecar
alone and never build them. Every write is one SQLite transaction, so
a crash loses at most the write in flight, which the relational store's outbox re-applies.

Several processes may share the directory. A process notices another's commit through
SQLite's ``data_version`` and applies only what changed, from the change log of
:mod:`~medkb.stores.vector.local_changes` (new vids added; removed vids taken out of a flat
index, or tombstoned in an HNSW one until compaction). It rebuilds from scratch only when
it fell further behind than the log reaches. :meth:`LocalVectorStore.stats` counts both.

Records get a fresh int64 ``vid`` each time they are written (SQLite ``AUTOINCREMENT``
never reuses one), which is the id FAISS sees; an HNSW index can therefore keep replaced
vectors as tombstones without confusing them with the new ones.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np

from medkb.errors import VectorStoreError
from medkb.models import (
    FILTERABLE_KEYS,
    VECTOR_FIELDS,
    Embeddings,
    Vector,
    VectorField,
    VectorHit,
    VectorRecord,
)
from medkb.stores.vector import local_changes
from medkb.stores.vector.base import Filters
from medkb.stores.vector.faiss_index import AnnIndex, HnswParams, Ids
from medkb.stores.vector.local_changes import Changes, Position
from medkb.stores.vector.validation import (
    as_vector,
    check_record,
    checked_filters,
    last_per_id,
    ordered,
    unit_rows,
)

SIDECAR = "vectors.sqlite3"
DEFAULT_EXACT_THRESHOLD = 20_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    vid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    question TEXT NOT NULL,
    response TEXT NOT NULL,
    category TEXT, source TEXT, source_type TEXT, language TEXT,
    metadata TEXT NOT NULL,
    related_nodes TEXT NOT NULL,
    model_id TEXT NOT NULL,
    question_vec BLOB NOT NULL,
    response_vec BLOB NOT NULL,
    combined_vec BLOB NOT NULL
);
-- Covers the tenant + filter lookups of every search, so they never read the wide rows.
CREATE INDEX IF NOT EXISTS records_filter
    ON records (tenant_id, category, source, source_type, language);
"""
_SCHEMA += local_changes.SCHEMA
_COLUMNS = (
    "id, tenant_id, question, response, category, source, source_type, language, "
    "metadata, related_nodes, model_id, question_vec, response_vec, combined_vec"
)


class LocalVectorStore:
    """A :class:`~medkb.stores.vector.base.VectorStore` in a local directory (FAISS + SQLite).

    Thread-safe: one lock guards the indexes and the SQLite connection. Several processes
    may open the same directory; each applies the others' commits incrementally.

    Args:
        directory: where the files live; created if missing.
        dimension: length of every embedding.
        exact_threshold: up to this many records search exactly; above, HNSW.
        hnsw: HNSW tuning.
        change_log_keep: removals kept in the change log for processes that are behind;
            one further behind rebuilds its indexes instead.
    """

    def __init__(
        self,
        directory: Path,
        *,
        dimension: int,
        exact_threshold: int = DEFAULT_EXACT_THRESHOLD,
        hnsw: HnswParams | None = None,
        change_log_keep: int = local_changes.DEFAULT_KEEP,
    ) -> None:
        self.dimension = dimension
        self.directory = Path(directory)
        self.exact_threshold = exact_threshold
        self.hnsw = hnsw or HnswParams()
        self.change_log_keep = change_log_keep
        self._lock = threading.RLock()
        self._db = self._connect()
        self._closed = False
        self._data_version = -1
        self._position = Position(seq=0, vid=0, unlogged=0)
        #: Built on the first search (or stats), not on open: counts and fetches read the
        #: sidecar alone, so a process that only asks those never builds an index.
        self._indexes: dict[VectorField, AnnIndex] = {}
        self._loaded = False
        self._dirty = False
        self._counters = dict.fromkeys(_COUNTERS, 0)
        #: Records per tenant, valid for ``_data_version``; cleared on every change.
        self._tenant_counts: dict[str, int] = {}
        try:
            self._check_dimension()
        except BaseException:
            self._db.close()
            raise

    # ---- opening --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        path = self.directory / SIDECAR
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=10000")
            db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise VectorStoreError(
                f"Cannot open the local vector store at {path}: {exc}. Check that the "
                "directory is writable (MEDKB_HOME / MEDKB_VECTOR_URL=local:///path)."
            ) from exc
        return db

    def _check_dimension(self) -> None:
        stored = self._meta("dimension")
        if stored is None:
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('dimension', ?)", (str(self.dimension),)
            )
            stored = self._meta("dimension")
        if stored is not None and int(stored) != self.dimension:
            raise VectorStoreError(
                f"The local vector store at {self.directory} holds {stored}-dimensional "
                f"vectors, but {self.dimension} were asked for (another embedding model?). "
                "Use the model it was built with, or delete the directory and rebuild it "
                "from the relational store."
            )

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _generation(self) -> str:
        return self._meta("generation") or "0"

    def _reload(self) -> None:
        """Rebuild the in-memory indexes from the sidecar (or the HNSW cache)."""
        self._data_version = self._current_data_version()
        self._tenant_counts.clear()
        with self._snapshot():
            seq = local_changes.last_seq(self._db)
            unlogged = local_changes.unlogged_writes(self._db)
            vids = self._all_vids()
            cached = self._load_cache(set(vids.tolist()))
            if cached is None:
                fresh = {name: self._new_index(len(vids)) for name in VECTOR_FIELDS}
                for name in VECTOR_FIELDS:
                    ids, vectors = self._read_vectors(name)
                    fresh[name].add(ids, unit_rows(vectors))
        top = int(vids.max()) if len(vids) else 0
        self._position = Position(seq=seq, vid=top, unlogged=unlogged)
        if cached is not None:
            self._indexes, self._dirty = cached, False
            self._counters["cache_loads"] += 1
        else:
            self._indexes, self._dirty = fresh, True
            self._counters["full_rebuilds"] += 1
        self._loaded = True

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One read transaction: every SELECT inside sees the same committed state."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _new_index(self, size: int) -> AnnIndex:
        return AnnIndex(self.dimension, hnsw=self.hnsw if size > self.exact_threshold else None)

    def _all_vids(self) -> Ids:
        rows = self._db.execute("SELECT vid FROM records").fetchall()
        return np.asarray([row[0] for row in rows], dtype=np.int64)

    def _read_vectors(self, name: VectorField) -> tuple[Ids, Any]:
        rows = self._db.execute(f"SELECT vid, {name}_vec FROM records ORDER BY vid").fetchall()
        ids = np.asarray([row[0] for row in rows], dtype=np.int64)
        flat = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
        return ids, flat.reshape(len(rows), self.dimension)

    def _cache_path(self, name: VectorField) -> Path:
        return self.directory / f"{name}.hnsw.faiss"

    def _load_cache(self, live: set[int]) -> dict[VectorField, AnnIndex] | None:
        """The cached HNSW indexes, if they were saved at the current generation."""
        if len(live) <= self.exact_threshold or self._meta("cache") != self._generation():
            return None
        try:
            loaded = {
                name: AnnIndex.load(self._cache_path(name), hnsw=self.hnsw, live=live)
                for name in VECTOR_FIELDS
            }
        except RuntimeError:  # a missing or truncated cache file: rebuild instead
            return None
        if any(index.live_count != len(live) for index in loaded.values()):
            return None
        return loaded

    def _save_cache(self) -> None:
        """Keep HNSW indexes on disk so the next open need not rebuild them.

        Runs under the SQLite write lock, and only when no other process has written since
        our last look, so the cache is labelled with the generation it really reflects.
        """
        if not self._dirty or not all(index.is_hnsw for index in self._indexes.values()):
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if self._current_data_version() == self._data_version:
                for name, index in self._indexes.items():
                    index.save(self._cache_path(name))
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('cache', ?)", (self._generation(),)
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._dirty = False

    def _current_data_version(self) -> int:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _refresh(self) -> None:
        """Build the indexes on first use; later, apply what other processes committed to
        the sidecar since we last looked."""
        self._check_open()
        if not self._loaded:
            self._reload()
            return
        version = self._current_data_version()
        if version != self._data_version:
            # Read before the changes: a commit landing in between is seen next time too.
            self._data_version = version
            self._catch_up()

    def _check_open(self) -> None:
        if self._closed:
            raise VectorStoreError("This local vector store is closed; open a new one.")

    def _catch_up(self) -> None:
        """Apply every change after our position; rebuild if the log no longer reaches."""
        with self._snapshot():
            changes = local_changes.read_changes(self._db, self._position, dimension=self.dimension)
        if changes is None:
            self._reload()
        elif not changes.empty:
            self._apply(changes)

    def _apply(self, changes: Changes) -> None:
        for name, index in self._indexes.items():
            index.remove(changes.removed)
            index.add(changes.added, unit_rows(changes.vectors[name]))
        self._position = changes.position
        self._tenant_counts.clear()
        self._dirty = True
        self._counters["incremental_refreshes"] += 1
        self._maintain()

    # ---- writing --------------------------------------------------------------------------

    def upsert(self, records: Sequence[VectorRecord]) -> None:
        """Insert or replace records by id, all in one SQLite transaction."""
        unique = last_per_id(records)
        for record in unique:
            check_record(record, self.dimension)
        if not unique:
            return
        with self._lock:
            self._write(lambda: self._insert_all(unique))

    def delete(self, ids: Sequence[str]) -> None:
        """Remove records by id; unknown ids are ignored."""
        if not ids:
            return
        with self._lock:
            self._write(lambda: self._remove_rows(list(ids)))

    def _write(self, work: Callable[[], object]) -> None:
        """Run ``work`` in one IMMEDIATE transaction, then apply it (and any other
        process's commits) to the indexes through the change log."""
        self._check_open()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                work()
                self._db.execute(
                    "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT (key) "
                    "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
                )
                local_changes.mark_logged(self._db)
                local_changes.prune(self._db, self.change_log_keep)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise VectorStoreError(
                f"Writing to the local vector store at {self.directory} failed: {exc}. "
                "Check free disk space and that no other process holds a write lock."
            ) from exc
        if self._loaded:  # otherwise the first search builds from the sidecar, this included
            self._catch_up()

    def _insert_all(self, records: list[VectorRecord]) -> None:
        self._remove_rows([record.id for record in records])
        placeholders = ", ".join("?" * 14)
        self._db.executemany(
            f"INSERT INTO records ({_COLUMNS}) VALUES ({placeholders})",
            [_row(record) for record in records],
        )

    def _remove_rows(self, ids: list[str]) -> None:
        removed: list[int] = []
        for chunk in _chunks(ids, 500):
            marks = ", ".join("?" * len(chunk))
            rows = self._db.execute(
                f"DELETE FROM records WHERE id IN ({marks}) RETURNING vid", chunk
            ).fetchall()
            removed.extend(row[0] for row in rows)
        local_changes.log_removals(self._db, removed)

    def _maintain(self) -> None:
        """Switch flat → HNSW past the threshold; compact HNSW with too many tombstones."""
        for name, index in self._indexes.items():
            if index.needs_rebuild(self.exact_threshold):
                self._indexes[name] = index.rebuilt(self.exact_threshold, self.hnsw)
                self._counters["compactions"] += 1

    def stats(self) -> dict[str, int]:
        """How this process kept its indexes current, for monitoring and tests.

        ``full_rebuilds``: indexes built from every record in the sidecar (on open, or
        after falling behind the change log); ``cache_loads``: opened from the HNSW cache;
        ``incremental_refreshes``: commits (ours or another process's) applied from the
        change log; ``compactions``: one field's index rebuilt from its own vectors
        (flat → HNSW past the threshold, or shedding tombstones); ``records`` and
        ``tombstones``: the combined-field index now.
        """
        with self._lock:
            self._refresh()
            index = self._indexes["combined"]
            return {
                **self._counters,
                "records": index.live_count,
                "tombstones": index.tombstone_count,
            }

    # ---- reading --------------------------------------------------------------------------

    def search(
        self,
        vector: Vector,
        *,
        field: VectorField,
        k: int,
        tenant_id: str,
        filters: Filters | None = None,
    ) -> list[VectorHit]:
        """Return up to ``k`` hits of ``tenant_id`` by cosine similarity, best first."""
        query = unit_rows(as_vector(vector, dimension=self.dimension, what="The query vector"))
        checked = checked_filters(filters)
        if field not in VECTOR_FIELDS:
            raise VectorStoreError(f"Unknown vector field {field!r}; use one of {VECTOR_FIELDS}.")
        with self._lock:
            self._refresh()
            index = self._indexes[field]
            allowed = self._allowed(tenant_id, checked, index.live_count)
            pairs = index.search(query, k, allowed, exact_threshold=self.exact_threshold)
            names = self._ids_of([vid for vid, _ in pairs])
        return [
            VectorHit(id=names[vid], score=min(1.0, max(-1.0, score)))
            for vid, score in pairs
            if vid in names
        ]

    def _allowed(self, tenant_id: str, filters: dict[str, list[str]], live: int) -> Ids | None:
        """The vids a search may return; ``None`` when that is every record."""
        where, params = _where(tenant_id, filters)
        if not filters and self._tenant_count(tenant_id) == live:
            return None  # one tenant owns everything: no selector needed
        rows = self._db.execute(f"SELECT vid FROM records WHERE {where}", params).fetchall()
        return np.asarray([row[0] for row in rows], dtype=np.int64)

    def _tenant_count(self, tenant_id: str) -> int:
        if tenant_id not in self._tenant_counts:
            row = self._db.execute("SELECT count(*) FROM records WHERE tenant_id = ?", [tenant_id])
            self._tenant_counts[tenant_id] = int(row.fetchone()[0])
        return self._tenant_counts[tenant_id]

    def _ids_of(self, vids: list[int]) -> dict[int, str]:
        if not vids:
            return {}
        marks = ", ".join("?" * len(vids))
        rows = self._db.execute(f"SELECT vid, id FROM records WHERE vid IN ({marks})", vids)
        return {int(vid): str(record_id) for vid, record_id in rows}

    def fetch(self, ids: Sequence[str]) -> list[VectorRecord]:
        """Return the stored records for ``ids`` in that order (missing ids are skipped)."""
        found: dict[str, VectorRecord] = {}
        with self._lock:
            self._check_open()
            for chunk in _chunks(list(ids), 500):
                marks = ", ".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT {_COLUMNS} FROM records WHERE id IN ({marks})", chunk
                ).fetchall()
                found.update((row[0], self._record(row)) for row in rows)
        return ordered(found, ids)

    def _record(self, row: tuple[Any, ...]) -> VectorRecord:
        def vector(blob: bytes) -> Vector:
            return np.frombuffer(blob, dtype=np.float32).copy()

        return VectorRecord(
            id=row[0],
            tenant_id=row[1],
            question=row[2],
            response=row[3],
            metadata=json.loads(row[8]),
            related_nodes=json.loads(row[9]),
            embeddings=Embeddings(
                question=vector(row[11]),
                response=vector(row[12]),
                combined=vector(row[13]),
                model_id=row[10],
            ),
        )

    def ids(self, tenant_id: str | None = None) -> Iterator[str]:
        """Every stored id (of one tenant, or all), in id order."""
        with self._lock:
            self._check_open()
            rows = self._db.execute(*_tenant_query("id", tenant_id, "ORDER BY id")).fetchall()
        return iter([str(row[0]) for row in rows])

    def count(self, tenant_id: str | None = None) -> int:
        """Number of stored records (of one tenant, or all)."""
        with self._lock:
            self._check_open()
            return int(self._db.execute(*_tenant_query("count(*)", tenant_id)).fetchone()[0])

    def close(self) -> None:
        """Save the HNSW cache (if any) and close the sidecar; later calls fail."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            # The HNSW files are only a cache: if saving fails, the next open rebuilds.
            with closing(self._db), suppress(OSError, RuntimeError, sqlite3.Error):
                self._save_cache()
            self._indexes = {}

    def drop(self) -> None:
        """Close the store and delete its files (the directory too, when left empty).

        Only the files this store writes are removed, so a directory shared with other
        files keeps them.
        """
        self.close()
        patterns = (f"{SIDECAR}*", "*.hnsw.faiss")
        for pattern in patterns:
            for path in self.directory.glob(pattern):
                path.unlink(missing_ok=True)
        with suppress(OSError):
            self.directory.rmdir()


_COUNTERS = ("full_rebuilds", "cache_loads", "incremental_refreshes", "compactions")


def _row(record: VectorRecord) -> tuple[Any, ...]:
    """The SQLite row of a record, in ``_COLUMNS`` order."""
    filterable = [record.metadata.get(key) for key in FILTERABLE_KEYS]
    blobs = [
        np.asarray(record.embeddings.get(name), dtype=np.float32).tobytes()
        for name in VECTOR_FIELDS
    ]
    return (
        record.id,
        record.tenant_id,
        record.question,
        record.response,
        *filterable,
        json.dumps(record.metadata, ensure_ascii=False),
        json.dumps(list(record.related_nodes), ensure_ascii=False),
        record.embeddings.model_id,
        *blobs,
    )


def _where(tenant_id: str, filters: dict[str, list[str]]) -> tuple[str, list[str]]:
    """SQL condition for a tenant and filters: keys AND, values OR."""
    clauses, params = ["tenant_id = ?"], [tenant_id]
    for key, values in filters.items():  # keys were checked against FILTERABLE_KEYS
        clauses.append(f"{key} IN ({', '.join('?' * len(values))})")
        params.extend(values)
    return " AND ".join(clauses), params


def _tenant_query(select: str, tenant_id: str | None, tail: str = "") -> tuple[str, list[str]]:
    if tenant_id is None:
        return f"SELECT {select} FROM records {tail}", []
    return f"SELECT {select} FROM records WHERE tenant_id = ? {tail}", [tenant_id]


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
