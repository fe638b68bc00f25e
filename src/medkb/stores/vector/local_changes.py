"""The local vector store's change log: how one process learns another's commits cheaply.

Several processes (an API server, ``medkb worker``, the CLI) may open one local store. Each
keeps its own FAISS indexes in memory, so each must apply the others' writes. Rebuilding
every index on every foreign commit costs seconds above a few thousand records (minutes
for HNSW at 50,000), so instead each process remembers a :class:`Position` and reads only
what changed after it:

- **additions**: every written record gets a fresh ``vid`` from SQLite ``AUTOINCREMENT``;
  writers are serialised by the SQLite write lock, so the records a process has not seen
  are exactly those with ``vid`` above the highest it indexed;
- **removals**: each vid a write deletes or replaces is appended to the ``removals`` table
  in the same transaction, under a ``seq`` that only grows.

Vids are never reused and a vid's vectors never change, so "remove these vids, add those"
brings any index to the sidecar's state. The removals log is pruned to its last ``keep``
rows; a process further behind than that (``meta.removals_pruned_through``) rebuilds.

Every write bumps ``meta.generation``; writers that keep this log also bump
``meta.logged_writes``. The difference counts writes that did not keep the log (by an
older medkb); when it grows past what a process saw, that process rebuilds rather than
trust an incomplete log.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from medkb.models import VECTOR_FIELDS, VectorField
from medkb.stores.vector.faiss_index import Ids
from medkb.stores.vector.validation import Matrix

SCHEMA = """
-- One row per vid a write removed (deleted or replaced), in commit order.
CREATE TABLE IF NOT EXISTS removals (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    vid INTEGER NOT NULL
);
"""
#: Removal rows kept for processes that are behind; older ones are pruned.
DEFAULT_KEEP = 100_000
_PRUNED_KEY = "removals_pruned_through"
_LOGGED_KEY = "logged_writes"


@dataclass(frozen=True)
class Position:
    """How far a process's indexes reflect the sidecar."""

    #: The last ``removals.seq`` applied.
    seq: int
    #: The highest ``records.vid`` indexed (later ones are new to this process).
    vid: int
    #: Writes that did not keep the log (:func:`unlogged_writes`) as of this position.
    unlogged: int


@dataclass(frozen=True)
class Changes:
    """What happened after a :class:`Position`: vids to remove, records to add."""

    removed: Ids
    added: Ids
    #: The unit-normalisable vectors of ``added``, per field, in ``added`` order.
    vectors: dict[VectorField, Matrix]
    position: Position

    @property
    def empty(self) -> bool:
        return len(self.removed) == 0 and len(self.added) == 0


def log_removals(db: sqlite3.Connection, vids: list[int]) -> None:
    """Append removed vids to the log (inside the writer's transaction)."""
    db.executemany("INSERT INTO removals (vid) VALUES (?)", [(vid,) for vid in vids])


def mark_logged(db: sqlite3.Connection) -> None:
    """Record that the write being made (which bumps the generation) keeps the log."""
    db.execute(
        "INSERT INTO meta VALUES (?, '1') ON CONFLICT (key) "
        "DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (_LOGGED_KEY,),
    )


def unlogged_writes(db: sqlite3.Connection) -> int:
    """How many writes ever committed without keeping the log (older medkb versions)."""
    rows = dict(
        db.execute(
            "SELECT key, CAST(value AS INTEGER) FROM meta WHERE key IN ('generation', ?)",
            (_LOGGED_KEY,),
        ).fetchall()
    )
    return int(rows.get("generation", 0)) - int(rows.get(_LOGGED_KEY, 0))


def prune(db: sqlite3.Connection, keep: int) -> None:
    """Drop removal rows older than the last ``keep`` (inside the writer's transaction)."""
    floor = last_seq(db) - keep
    if floor <= pruned_through(db):
        return
    db.execute("DELETE FROM removals WHERE seq <= ?", (floor,))
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_PRUNED_KEY, str(floor)))


def last_seq(db: sqlite3.Connection) -> int:
    """The last removal seq ever assigned (0 when none)."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'removals'").fetchone()
    return 0 if row is None else int(row[0])


def pruned_through(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (_PRUNED_KEY,)).fetchone()
    return 0 if row is None else int(row[0])


def read_changes(db: sqlite3.Connection, since: Position, *, dimension: int) -> Changes | None:
    """The changes committed after ``since``; ``None`` when the log no longer reaches back.

    Call inside one read transaction so removals and additions come from one snapshot.
    """
    unlogged = unlogged_writes(db)
    if since.seq < pruned_through(db) or unlogged != since.unlogged:
        return None
    removals = db.execute(
        "SELECT seq, vid FROM removals WHERE seq > ? ORDER BY seq", (since.seq,)
    ).fetchall()
    columns = ", ".join(f"{name}_vec" for name in VECTOR_FIELDS)
    rows = db.execute(
        f"SELECT vid, {columns} FROM records WHERE vid > ? ORDER BY vid", (since.vid,)
    ).fetchall()
    added = np.asarray([row[0] for row in rows], dtype=np.int64)
    vectors = {
        name: _matrix([row[1 + i] for row in rows], dimension)
        for i, name in enumerate(VECTOR_FIELDS)
    }
    position = Position(
        seq=int(removals[-1][0]) if removals else since.seq,
        vid=int(added[-1]) if len(added) else since.vid,
        unlogged=unlogged,
    )
    removed = np.asarray([row[1] for row in removals], dtype=np.int64)
    return Changes(removed=removed, added=added, vectors=vectors, position=position)


def _matrix(blobs: list[bytes], dimension: int) -> Matrix:
    flat = np.frombuffer(b"".join(blobs), dtype=np.float32)
    return flat.reshape(len(blobs), dimension)
