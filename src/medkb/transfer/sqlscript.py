"""``--format sql`` to a file: a portable SQL script that creates and fills one table.

The script is plain SQL that both PostgreSQL (``psql -f``) and SQLite (``sqlite3 db <``)
run: ``CREATE TABLE IF NOT EXISTS``, then multi-row ``INSERT … ON CONFLICT (id) DO UPDATE``
(so loading it twice updates instead of duplicating), inside one transaction. Columns are
``TEXT`` except ``is_active`` (``BOOLEAN``); lists and objects (tags, extra, sources,
relations, related_nodes) are JSON text, and each embedding is a JSON array, which is also
pgvector's text form: ``ALTER TABLE … ALTER COLUMN question_embedding TYPE vector(256)
USING question_embedding::vector`` turns it into a vector column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medkb.errors import InputError
from medkb.transfer.formats import PartialFile, dumps
from medkb.transfer.records import BASE_COLUMNS, EMBEDDING_COLUMNS, Record, flatten

#: The table name when none is given: the SPEC §A name of the collection being exported.
DEFAULT_TABLE = "medical_knowledge_base"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")


def quoted_table(name: str) -> str:
    """``name`` (optionally ``schema.table``) as a quoted SQL identifier."""
    if not _NAME.match(name):
        raise InputError(
            f"Table name {name!r} is not a plain SQL identifier; use letters, digits and "
            "underscores (optionally schema.table), e.g. --table medical_knowledge_base."
        )
    return ".".join(f'"{part}"' for part in name.split("."))


def table_columns(*, include_embeddings: bool) -> list[str]:
    """Column names of the SQL table: the flat export columns plus ``related_nodes``."""
    embedding = EMBEDDING_COLUMNS if include_embeddings else ()
    return [*BASE_COLUMNS, "related_nodes", *embedding]


def sql_row(record: Record, *, include_embeddings: bool) -> dict[str, Any]:
    """A record as a row of :func:`table_columns` (Python values)."""
    row = flatten(record, include_embeddings=include_embeddings)
    targets = dict.fromkeys(edge["target_id"] for edge in record["relations"])
    row["related_nodes"] = list(targets)
    return {name: row[name] for name in table_columns(include_embeddings=include_embeddings)}


def literal(value: Any) -> str:
    """One value as an SQL literal (standard quoting: ``'`` doubled, no backslash escapes)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | dict):
        value = dumps(value)
    return "'" + str(value).replace("'", "''") + "'"


def create_statement(table: str, *, include_embeddings: bool) -> str:
    """``CREATE TABLE IF NOT EXISTS`` with portable types."""
    types = {"id": "TEXT PRIMARY KEY", "is_active": "BOOLEAN"}
    required = {"tenant_id", "question", "response"}
    lines = [
        f"  {name} {types.get(name, 'TEXT')}{' NOT NULL' if name in required else ''}"
        for name in table_columns(include_embeddings=include_embeddings)
    ]
    return f"CREATE TABLE IF NOT EXISTS {quoted_table(table)} (\n" + ",\n".join(lines) + "\n);\n"


class SqlScriptSink:
    """Writes the SQL script batch by batch: one multi-row upsert per batch."""

    def __init__(self, path: Path, *, table: str, include_embeddings: bool) -> None:
        self.table, self.include_embeddings = quoted_table(table), include_embeddings
        self.names = table_columns(include_embeddings=include_embeddings)
        self.file = PartialFile(path)
        self.out = self.file.open_text()
        self.out.write("-- medkb export: Q&A pairs as one table (PostgreSQL or SQLite).\n")
        self.out.write(create_statement(table, include_embeddings=include_embeddings))
        self.out.write("BEGIN;\n")

    def write(self, records: Sequence[Record]) -> None:
        if not records:
            return
        values = ",\n".join(
            "(" + ", ".join(literal(v) for v in self._row(record).values()) + ")"
            for record in records
        )
        updates = ", ".join(f"{name} = excluded.{name}" for name in self.names if name != "id")
        self.out.write(
            f"INSERT INTO {self.table} ({', '.join(self.names)}) VALUES\n{values}\n"
            f"ON CONFLICT (id) DO UPDATE SET {updates};\n"
        )

    def _row(self, record: Record) -> dict[str, Any]:
        return sql_row(record, include_embeddings=self.include_embeddings)

    def close(self) -> int:
        self.out.write("COMMIT;\n")
        self.out.close()
        return self.file.finish()

    def abort(self) -> None:
        self.out.close()
        self.file.discard()
