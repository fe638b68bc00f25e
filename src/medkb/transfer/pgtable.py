"""``--format sql --output postgresql://…``: the pairs straight into a PostgreSQL table.

SPEC §A.4 "straight into a SQL table in PostgreSQL". One row per pair, keyed by ``id``;
each batch is one ``INSERT … ON CONFLICT (id) DO UPDATE`` in its own transaction, so a
re-run updates rows instead of duplicating them, and an interrupted run resumes cleanly.
Types are native: ``text[]`` tags and related_nodes, ``jsonb`` extra/sources/relations,
``timestamptz`` timestamps. Embeddings are pgvector ``vector(d)`` columns when the
``vector`` extension is installed in that database (or can be created there); otherwise
``real[]``. A table that already exists keeps its embedding column type.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from medkb.config import normalise_postgres_url
from medkb.errors import DatabaseUnavailable, InputError, RelationalStoreError, WriteConflict
from medkb.models import VECTOR_FIELDS
from medkb.stores.relational.engine import make_engine
from medkb.stores.relational.errors import driver_detail
from medkb.transfer.formats import dumps
from medkb.transfer.records import Record
from medkb.transfer.sqlscript import quoted_table, sql_row, table_columns

_TYPES = {
    "id": "text PRIMARY KEY",
    "tenant_id": "text NOT NULL",
    "question": "text NOT NULL",
    "response": "text NOT NULL",
    "tags": "text[] NOT NULL",
    "is_active": "boolean NOT NULL",
    "extra": "jsonb NOT NULL",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
    "sources": "jsonb NOT NULL",
    "relations": "jsonb NOT NULL",
    "related_nodes": "text[] NOT NULL",
}
_CASTS = {
    "tags": "text[]",
    "related_nodes": "text[]",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
    "extra": "jsonb",
    "sources": "jsonb",
    "relations": "jsonb",
}
_EMBEDDINGS = [f"{name}_embedding" for name in VECTOR_FIELDS]


class PostgresTableSink:
    """Upserts export records into one PostgreSQL table, batch by batch."""

    def __init__(
        self, url: str, *, table: str, include_embeddings: bool, dimension: int | None
    ) -> None:
        self.table, self.include_embeddings = quoted_table(table), include_embeddings
        self.engine = make_engine(normalise_postgres_url(url))
        self.vector_type: str | None = None
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(self._create_statement())
                if include_embeddings:
                    self.vector_type = self._embedding_columns(conn, dimension or 0)
        except (sa.exc.OperationalError, DatabaseUnavailable) as exc:
            self.engine.dispose()
            raise RelationalStoreError(
                f"Cannot reach the PostgreSQL database for the export: {driver_detail(exc)}. "
                "Check the --output URL (postgresql://user@host:port/database) and that it is "
                "running."
            ) from exc
        except BaseException:
            self.engine.dispose()
            raise
        self.statement = sa.text(self._upsert_statement())

    def _create_statement(self) -> str:
        names = table_columns(include_embeddings=False)
        lines = ",\n".join(f"  {name} {_TYPES.get(name, 'text')}" for name in names)
        return f"CREATE TABLE IF NOT EXISTS {self.table} (\n{lines}\n)"

    def _embedding_columns(self, conn: sa.Connection, dimension: int) -> str:
        """Add the embedding columns if missing; return their SQL type."""
        existing = self._column_type(conn, _EMBEDDINGS[0])
        kind = existing or (f"vector({dimension})" if has_pgvector(conn) else "real[]")
        if existing and existing.startswith("vector(") and existing != f"vector({dimension})":
            raise InputError(
                f"Table {self.table} has {existing} embedding columns, but this knowledge base "
                f"has {dimension}-dimensional embeddings. Export to another --table, or drop it."
            )
        for name in ["embedding_model", *_EMBEDDINGS]:
            column_type = "text" if name == "embedding_model" else kind
            conn.exec_driver_sql(
                f"ALTER TABLE {self.table} ADD COLUMN IF NOT EXISTS {name} {column_type}"
            )
        return kind

    def _column_type(self, conn: sa.Connection, column: str) -> str | None:
        found = conn.execute(
            sa.text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = CAST(:table AS regclass) AND attname = :column "
                "AND NOT attisdropped"
            ),
            {"table": self.table, "column": column},
        ).scalar()
        return str(found) if found else None

    def _upsert_statement(self) -> str:
        names = table_columns(include_embeddings=self.include_embeddings)
        casts = dict(_CASTS)
        if self.vector_type:
            casts |= dict.fromkeys(_EMBEDDINGS, self.vector_type.split("(")[0])
        values = ", ".join(
            f"CAST(:{name} AS {casts[name]})" if name in casts else f":{name}" for name in names
        )
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names if name != "id")
        return (
            f"INSERT INTO {self.table} ({', '.join(names)}) VALUES ({values}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}"
        )

    def write(self, records: Sequence[Record]) -> None:
        if not records:
            return
        rows = [self._params(record) for record in records]
        try:
            with self.engine.begin() as conn:
                conn.execute(self.statement, rows)
        except (sa.exc.DBAPIError, WriteConflict) as exc:
            raise InputError(
                f"PostgreSQL refused the rows for table {self.table}: {driver_detail(exc)}. If "
                "the table was created by something else, export to another --table or drop it."
            ) from exc

    def _params(self, record: Record) -> dict[str, Any]:
        row = sql_row(record, include_embeddings=self.include_embeddings)
        for name in ("extra", "sources", "relations"):
            row[name] = dumps(row[name])
        for name in ("created_at", "updated_at"):
            row[name] = utc(row[name])
        if self.vector_type and self.vector_type.startswith("vector"):
            for name in _EMBEDDINGS:
                row[name] = None if row[name] is None else dumps(row[name])
        return row

    def close(self) -> int:
        self.engine.dispose()
        return 0

    def abort(self) -> None:
        self.engine.dispose()


def has_pgvector(conn: sa.Connection) -> bool:
    """Whether the ``vector`` extension is installed, creating it when it is available."""
    installed = "SELECT 1 FROM pg_extension WHERE extname = 'vector'"
    if conn.exec_driver_sql(installed).first():
        return True
    available = "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
    if not conn.exec_driver_sql(available).first():
        return False
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS vector")
    except (sa.exc.DBAPIError, RelationalStoreError):
        return False  # available but we may not create it (no privilege): plain arrays
    return True


def utc(value: str | None) -> datetime | None:
    """An ISO timestamp as an aware datetime; medkb stores UTC, so naive means UTC."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
