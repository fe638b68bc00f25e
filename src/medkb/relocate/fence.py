"""The write fence of ``medkb migrate``: the target ends equal to ONE snapshot of the source.

Tables are copied one after another, so a write that lands in an already-copied table while
a later one is being copied would be missed by a check made table by table. The final pass
therefore reads the checksum of every table inside one consistent snapshot of the source
(:func:`medkb.relocate.source.snapshot`) and compares each with the target. A table that
differs is caught up from that same snapshot, row by row: rows the target lacks or holds
in another version are upserted, rows the snapshot no longer has are deleted (children
first, so cascades only remove what is gone anyway), all in one target transaction. The
pass is then repeated on a fresh snapshot until one finds nothing to catch up: that
snapshot's checksums are the report's, and the target holds exactly it. Writers that keep
writing through :data:`MAX_PASSES` passes make ``migrate`` stop and say so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from medkb.errors import RelationalStoreError
from medkb.relocate.checksums import TableDigest, canonical, row_hash, table_digest
from medkb.relocate.source import snapshot
from medkb.relocate.table_copy import BatchHook, converted

#: Final passes before ``migrate`` gives up on writers that do not stop.
MAX_PASSES = 5
_BATCH = 500


@dataclass(frozen=True)
class TableFinal:
    """A table as the final pass found it on both sides, and the rows it caught up."""

    source: TableDigest
    target: TableDigest
    caught_up: int


@dataclass
class FenceResult:
    """Every table's final digests, and how many passes it took to find no change."""

    tables: dict[str, TableFinal] = field(default_factory=dict)
    passes: int = 0


@dataclass
class _Diff:
    table: sa.Table
    upserts: list[dict[str, Any]]
    deletes: list[tuple[Any, ...]]

    @property
    def rows(self) -> int:
        return len(self.upserts) + len(self.deletes)


def final_pass(
    source: sa.Engine,
    target: sa.Engine,
    tables: Sequence[sa.Table],
    *,
    on_batch: BatchHook | None = None,
    max_passes: int = MAX_PASSES,
) -> FenceResult:
    """Catch the target up with the source until one snapshot finds them equal.

    Raises:
        RelationalStoreError: every one of ``max_passes`` passes found new writes.
    """
    caught = dict.fromkeys((table.name for table in tables), 0)
    changed: list[sa.Table] = []
    for number in range(1, max_passes + 1):
        with snapshot(source) as conn:
            digests = {table.name: table_digest(conn, table) for table in tables}
            found = _target_digests(target, tables)
            changed = [table for table in tables if digests[table.name] != found[table.name]]
            if not changed:
                finals = {
                    name: TableFinal(digests[name], found[name], caught[name]) for name in digests
                }
                return FenceResult(finals, number)
            for diff in catch_up(conn, target, changed):
                caught[diff.table.name] += diff.rows
                if on_batch is not None:
                    on_batch(diff.table.name, diff.rows, digests[diff.table.name].rows)
    names = ", ".join(table.name for table in changed)
    raise RelationalStoreError(
        f"The knowledge base kept being written to while it was migrated: each of "
        f"{max_passes} final passes found new writes (last in {names}). Stop every process "
        "that writes to it (API, workers, ingest), then run medkb migrate again: it resumes "
        "and catches up. Do not switch to the target before a run reports ok."
    )


def _target_digests(target: sa.Engine, tables: Sequence[sa.Table]) -> dict[str, TableDigest]:
    with target.connect() as conn:
        return {table.name: table_digest(conn, table) for table in tables}


def catch_up(conn: sa.Connection, target: sa.Engine, tables: Sequence[sa.Table]) -> list[_Diff]:
    """Make ``tables`` on the target equal to what ``conn`` (one snapshot) sees."""
    diffs = [_diff(conn, target, table) for table in tables]
    with target.begin() as out:
        for diff in reversed(diffs):  # children first
            _delete(out, diff.table, diff.deletes)
        for diff in diffs:  # parents first
            _upsert(out, diff.table, diff.upserts)
    return diffs


def _key(row: Any, columns: Sequence[sa.Column[Any]]) -> tuple[str, ...]:
    return tuple(canonical(row[column.name]) for column in columns)


def _rows(conn: sa.Connection, table: sa.Table) -> Iterator[Any]:
    query = sa.select(*table.columns)
    yield from conn.execution_options(yield_per=1000).execute(query).mappings()


def _diff(conn: sa.Connection, target: sa.Engine, table: sa.Table) -> _Diff:
    keys = list(table.primary_key.columns)
    with target.connect() as out:
        held = {
            _key(row, keys): (row_hash(tuple(row.values())), tuple(row[c.name] for c in keys))
            for row in _rows(out, table)
        }
    upserts = []
    for row in _rows(conn, table):
        entry = held.pop(_key(row, keys), None)
        if entry is None or entry[0] != row_hash(tuple(row.values())):
            upserts.append(converted(dict(row)))
    return _Diff(table, upserts, [pk for _hash, pk in held.values()])


def _chunks(items: Sequence[Any]) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, _BATCH)):
        yield chunk


def _delete(conn: sa.Connection, table: sa.Table, keys: Sequence[tuple[Any, ...]]) -> None:
    columns = list(table.primary_key.columns)
    for chunk in _chunks(keys):
        conn.execute(table.delete().where(sa.tuple_(*columns).in_(chunk)))


def _upsert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    keys = [column.name for column in table.primary_key.columns]
    others = [column.name for column in table.columns if column.name not in keys]
    for chunk in _chunks(rows):
        statement: Any
        if conn.dialect.name == "postgresql":
            insert = postgresql.insert(table)
            statement = (
                insert.on_conflict_do_update(
                    index_elements=keys, set_={name: insert.excluded[name] for name in others}
                )
                if others
                else insert.on_conflict_do_nothing()
            )
        else:
            statement = table.insert().prefix_with("OR REPLACE")
        conn.execute(statement, chunk)
