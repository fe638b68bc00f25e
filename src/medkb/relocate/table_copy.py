"""Copying one table between relational stores in batches, resumably.

Rows are read in primary-key order with keyset pagination (``WHERE pk > last ORDER BY pk
LIMIT n``), written with ``INSERT … ON CONFLICT DO NOTHING``, and each batch commits
together with its last key in a bookkeeping table on the target
(:data:`PROGRESS_TABLE`). A copy killed at any instant therefore resumes after the last
committed batch and never writes a row twice. The bookkeeping table also names the source,
so a target half-filled from another knowledge base is recognised and refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from medkb.errors import WriteConflict
from medkb.relocate.checksums import as_utc

PROGRESS_TABLE = "medkb_migration_progress"

#: Called after each committed batch with (table name, rows copied so far, source rows).
BatchHook = Callable[[str, int, int], None]

progress = sa.Table(
    PROGRESS_TABLE,
    sa.MetaData(),
    sa.Column("table_name", sa.String(128), primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("last_key", sa.Text),
    sa.Column("copied", sa.Integer, nullable=False),
)


def ensure_progress(target: sa.Engine) -> None:
    """Create the bookkeeping table on the target if it is missing."""
    progress.create(target, checkfirst=True)


def progress_sources(target: sa.Engine) -> set[str]:
    """The sources named by an earlier, unfinished copy into ``target`` (empty if none)."""
    if not sa.inspect(target).has_table(PROGRESS_TABLE):
        return set()
    with target.connect() as conn:
        return set(conn.execute(sa.select(progress.c.source).distinct()).scalars())


def drop_progress(target: sa.Engine) -> None:
    """Remove the bookkeeping table once every table is verified."""
    progress.drop(target, checkfirst=True)


def copy_table(
    source: sa.Engine,
    target: sa.Engine,
    table: sa.Table,
    *,
    source_name: str,
    batch_size: int,
    on_batch: BatchHook | None = None,
) -> int:
    """Copy the rows of ``table`` the target lacks, after the last committed key.

    Returns the rows inserted by this call (conflicting rows are skipped, not counted).
    """
    key_columns = list(table.primary_key.columns)
    last, copied = _load_progress(target, table.name)
    with source.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    inserted = 0
    while True:
        with source.connect() as conn:
            rows = _next_batch(conn, table, key_columns, last, batch_size)
        if not rows:
            return inserted
        last = [rows[-1][column.name] for column in key_columns]
        copied += len(rows)
        inserted += _write_batch(
            target, table, rows, source_name=source_name, last=last, copied=copied
        )
        if on_batch is not None:
            on_batch(table.name, copied, total)


def _next_batch(
    conn: sa.Connection,
    table: sa.Table,
    key_columns: list[sa.Column[Any]],
    last: list[Any] | None,
    batch_size: int,
) -> list[dict[str, Any]]:
    query = sa.select(*table.columns).order_by(*key_columns).limit(batch_size)
    if last is not None:
        bound = [
            sa.literal(value, type_=c.type) for value, c in zip(last, key_columns, strict=True)
        ]
        query = query.where(sa.tuple_(*key_columns) > sa.tuple_(*bound))
    return [converted(dict(row._mapping)) for row in conn.execute(query)]


def converted(row: dict[str, Any]) -> dict[str, Any]:
    """Values as the target expects them: SQLite's naive UTC times get their zone."""
    return {
        name: as_utc(value) if isinstance(value, datetime) else value for name, value in row.items()
    }


def _write_batch(
    target: sa.Engine,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    source_name: str,
    last: list[Any],
    copied: int,
) -> int:
    """Insert ``rows`` and record the new position in ONE target transaction.

    A row whose parent row is not on the target yet (written to the source after the
    parent's table was copied) is skipped; the final pass of ``migrate`` copies both,
    parents first.
    """
    try:
        with target.begin() as conn:
            result = conn.execute(_insert_ignoring(conn, table), list(rows))
            _save_progress(conn, table.name, source=source_name, last=last, copied=copied)
        return len(rows) if result.rowcount < 0 else result.rowcount
    except (sa.exc.IntegrityError, WriteConflict):  # make_engine translates the former
        pass
    with target.begin() as conn:
        inserted = sum(_insert_one(conn, table, row) for row in rows)
        _save_progress(conn, table.name, source=source_name, last=last, copied=copied)
    return inserted


def _insert_one(conn: sa.Connection, table: sa.Table, row: dict[str, Any]) -> int:
    """Insert one row in a savepoint; 0 if it breaks a foreign key."""
    try:
        with conn.begin_nested():
            result = conn.execute(_insert_ignoring(conn, table), [row])
    except (sa.exc.IntegrityError, WriteConflict):  # make_engine translates the former
        return 0
    return 1 if result.rowcount < 0 else result.rowcount


def _insert_ignoring(conn: sa.Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return table.insert().prefix_with("OR IGNORE")


def _load_progress(target: sa.Engine, name: str) -> tuple[list[Any] | None, int]:
    with target.connect() as conn:
        row = conn.execute(sa.select(progress).where(progress.c.table_name == name)).first()
    if row is None or row.last_key is None:
        return None, 0
    return [_decode(value) for value in json.loads(row.last_key)], int(row.copied)


def _save_progress(
    conn: sa.Connection, name: str, *, source: str, last: list[Any], copied: int
) -> None:
    values = {
        "source": source,
        "last_key": json.dumps([_encode(v) for v in last]),
        "copied": copied,
    }
    updated = conn.execute(progress.update().where(progress.c.table_name == name).values(**values))
    if not updated.rowcount:
        conn.execute(progress.insert().values(table_name=name, **values))


def _encode(value: Any) -> Any:
    """A JSON-ready key part; dates (the ``analytics`` key) are tagged to come back as dates."""
    if isinstance(value, date):
        return {"date": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "date" in value:
        return date.fromisoformat(value["date"])
    return value


def reset_sequences(target: sa.Engine, tables: Sequence[sa.Table]) -> None:
    """Move each serial id's sequence past the copied ids (PostgreSQL only)."""
    if target.dialect.name != "postgresql":
        return
    with target.begin() as conn:
        for table in tables:
            keys = list(table.primary_key.columns)
            if len(keys) != 1 or not isinstance(keys[0].type, sa.Integer):
                continue
            name, column = table.name, keys[0].name
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                    f"COALESCE(MAX({column}), 1), MAX({column}) IS NOT NULL) FROM {name}"
                ),
                {"table": name, "column": column},
            )
