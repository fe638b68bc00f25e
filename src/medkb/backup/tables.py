"""medkb's tables in foreign-key order, and a logical dump of them: one JSONL file per table.

The logical dump is the portable form of the relational data: it is written from any
SQLAlchemy connection (SQLite or PostgreSQL) and loads into either. Values are encoded by
column type — timestamps and dates as ISO 8601, binary (the embeddings) as base64, JSON
and lists as themselves — so a load gives back exactly the values that were dumped.
:func:`tables_in_fk_order` is also the safe copy order for anyone moving rows between
databases (parents before children).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from medkb.stores.relational.schema import metadata

#: Rows per round trip when dumping and loading.
BATCH_SIZE = 1000

Codec = Callable[[Any], Any]


def tables_in_fk_order(schema: sa.MetaData = metadata) -> list[sa.Table]:
    """Every table of medkb's schema, each after the tables its foreign keys point to.

    Insert in this order and delete in the reverse order, and no foreign key is ever
    violated on the way.
    """
    return list(schema.sorted_tables)


def count_rows(conn: sa.Connection) -> dict[str, int]:
    """Rows per table of medkb's schema, read through ``conn`` (one snapshot if it is one)."""
    return {
        table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for table in tables_in_fk_order()
    }


def _utc(value: datetime) -> datetime:
    """Aware timestamps in UTC; naive ones (SQLite stores them so) are UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _encoder(column: sa.Column[Any]) -> Codec:
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return lambda value: _utc(value).isoformat()
    if isinstance(kind, sa.Date):
        return lambda value: value.isoformat()
    if isinstance(kind, sa.LargeBinary):
        return lambda value: base64.b64encode(value).decode("ascii")
    return lambda value: value


def _decoder(column: sa.Column[Any]) -> Codec:
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return datetime.fromisoformat
    if isinstance(kind, sa.Date):
        return date.fromisoformat
    if isinstance(kind, sa.LargeBinary):
        return base64.b64decode
    return lambda value: value


def _codecs(table: sa.Table, make: Callable[[sa.Column[Any]], Codec]) -> dict[str, Codec]:
    return {column.name: make(column) for column in table.columns}


def dump_table(conn: sa.Connection, table: sa.Table, path: Path) -> int:
    """Write every row of ``table`` to ``path`` as JSON lines, in primary-key order.

    Rows are streamed from the database; memory stays bounded by one batch.
    """
    codecs = _codecs(table, _encoder)
    query = sa.select(table).order_by(*table.primary_key.columns)
    rows = conn.execution_options(stream_results=True, yield_per=BATCH_SIZE).execute(query)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows.mappings():
            encoded = {
                key: None if value is None else codecs[key](value) for key, value in row.items()
            }
            out.write(json.dumps(encoded, ensure_ascii=False) + "\n")
            written += 1
    return written


def dump_tables(conn: sa.Connection, directory: Path) -> dict[str, int]:
    """Dump every table to ``directory/<table>.jsonl``; return rows per table."""
    directory.mkdir(parents=True, exist_ok=True)
    return {
        table.name: dump_table(conn, table, directory / f"{table.name}.jsonl")
        for table in tables_in_fk_order()
    }


def _read_rows(path: Path, table: sa.Table) -> Iterator[dict[str, Any]]:
    codecs = _codecs(table, _decoder)
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                data = json.loads(line)
                yield {
                    key: None if value is None else codecs[key](value)
                    for key, value in data.items()
                    if key in codecs
                }


def load_table(conn: sa.Connection, table: sa.Table, path: Path) -> int:
    """Insert the rows of a :func:`dump_table` file into ``table``; return how many."""
    loaded = 0
    rows = _read_rows(path, table)
    while batch := list(islice(rows, BATCH_SIZE)):
        conn.execute(table.insert(), batch)
        loaded += len(batch)
    return loaded


def load_tables(conn: sa.Connection, directory: Path) -> dict[str, int]:
    """Load every ``<table>.jsonl`` of ``directory`` in foreign-key order; rows per table.

    On PostgreSQL the id sequences are moved past the loaded ids afterwards, so new rows
    do not collide with restored ones.
    """
    loaded = {
        table.name: load_table(conn, table, directory / f"{table.name}.jsonl")
        for table in tables_in_fk_order()
        if (directory / f"{table.name}.jsonl").is_file()
    }
    if conn.dialect.name == "postgresql":
        reset_sequences(conn)
    return loaded


def reset_sequences(conn: sa.Connection) -> None:
    """Set each serial id sequence to the largest id in its table (PostgreSQL)."""
    for table in tables_in_fk_order():
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                column.autoincrement == "auto" and isinstance(column.type, sa.Integer)
            ):
                _reset_sequence(conn, table.name, column.name)


def _reset_sequence(conn: sa.Connection, table: str, column: str) -> None:
    sequence = conn.execute(
        sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": table, "column": column},
    ).scalar_one()
    if sequence is None:
        return
    conn.execute(
        sa.text(
            f'SELECT setval(:sequence, COALESCE(MAX("{column}"), 1), MAX("{column}") IS NOT NULL) '
            f'FROM "{table}"'
        ),
        {"sequence": sequence},
    )
