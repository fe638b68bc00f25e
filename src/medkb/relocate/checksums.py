"""Order-independent checksums of a table, equal across SQLite and PostgreSQL.

Each row is written in a canonical text form that hides how a backend stores a value
(``JSON`` text vs ``jsonb``, a JSON list vs ``text[]``, naive UTC vs ``timestamptz``,
``BLOB`` vs ``bytea``), hashed with SHA-256, and the hashes are added modulo 2**256. A sum
does not depend on the order rows are read in, and unlike XOR a duplicated row changes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

_MODULUS = 2**256
_SEPARATOR = "\x1f"


def canonical(value: Any) -> str:
    """One value in the form both backends agree on."""
    if value is None:
        return "\x00"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "b:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def as_utc(value: datetime) -> datetime:
    """A timezone-aware UTC datetime; SQLite hands back UTC times without a zone."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def row_hash(row: Sequence[Any]) -> int:
    """The SHA-256 of one row's canonical form, as an integer."""
    text = _SEPARATOR.join(canonical(value) for value in row)
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")


@dataclass(frozen=True)
class TableDigest:
    """A table's row count and order-independent checksum."""

    rows: int
    checksum: str

    @classmethod
    def of(cls, rows: Iterable[Sequence[Any]]) -> TableDigest:
        """Digest rows read in any order."""
        count = total = 0
        for row in rows:
            count += 1
            total = (total + row_hash(row)) % _MODULUS
        return cls(rows=count, checksum=f"{total:064x}")


def table_digest(conn: sa.Connection, table: sa.Table, *, batch_size: int = 1000) -> TableDigest:
    """Read every row of ``table`` (streamed, ``batch_size`` at a time) and digest it.

    Only the columns the schema declares are read, so backend-only columns (the generated
    ``tsvector`` on PostgreSQL) do not count.
    """
    query = sa.select(*table.columns)
    result = conn.execution_options(yield_per=batch_size).execute(query)
    return TableDigest.of(result)
