"""pgvector vector store: one table in a PostgreSQL with the ``vector`` extension.

Table ``medical_knowledge_base`` (by default): ``id`` (primary key), ``tenant_id``,
``question``, ``response``, the three ``*_embedding vector(dim)`` columns, each with an
HNSW index on cosine distance, ``metadata`` and ``related_nodes`` (jsonb),
``embedding_model``, and the filterable metadata keys as plain text columns.

Searches use HNSW with ``hnsw.iterative_scan = strict_order`` (pgvector >= 0.8), which
keeps walking the graph until enough rows pass the filters; if a filter is so selective
that it still comes back short, the search is repeated exactly without the index, so a
filtered search returns ``k`` hits whenever ``k`` rows match.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

from medkb.errors import VectorStoreError, missing_dependency
from medkb.models import (
    FILTERABLE_KEYS,
    VECTOR_FIELDS,
    Embeddings,
    Vector,
    VectorField,
    VectorHit,
    VectorRecord,
)
from medkb.stores.vector.base import COLLECTION, Filters
from medkb.stores.vector.validation import (
    as_vector,
    check_record,
    checked_filters,
    last_per_id,
    ordered,
)

T = TypeVar("T")

_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")
_COLUMNS = (
    "id",
    "tenant_id",
    "question",
    "response",
    *(f"{name}_embedding" for name in VECTOR_FIELDS),
    "embedding_model",
    "metadata",
    "related_nodes",
    *FILTERABLE_KEYS,
)
_NO_PGVECTOR = (
    "this PostgreSQL has no pgvector; install it (https://github.com/pgvector/pgvector) "
    "or use MEDKB_VECTOR_URL=local"
)


def _drivers() -> tuple[ModuleType, ModuleType]:
    """psycopg and pgvector.psycopg, imported on first use."""
    try:
        psycopg = importlib.import_module("psycopg")
        pgvector_psycopg = importlib.import_module("pgvector.psycopg")
    except ImportError as exc:
        package = "pgvector" if "pgvector" in str(exc) else "psycopg"
        raise missing_dependency(package, "pgvector", "The pgvector vector store") from exc
    return psycopg, pgvector_psycopg


def psycopg_url(url: str) -> str:
    """A libpq URL from the SQLAlchemy forms settings use (``postgresql+psycopg://``)."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme.split("+")[0] in ("postgresql", "postgres"):
        return "postgresql://" + rest
    return url


class PgVectorStore:
    """A :class:`~medkb.stores.vector.base.VectorStore` in a PostgreSQL table with pgvector.

    Thread-safe: one connection, one lock; reconnects after the connection breaks.

    Args:
        url: ``postgresql://user:password@host:port/dbname`` (the ``+psycopg`` form works).
        dimension: length of every embedding.
        table: table name (lower-case letters, digits and ``_``).
        connect_timeout: seconds to wait for the server when connecting.
    """

    def __init__(
        self,
        url: str,
        *,
        dimension: int,
        table: str = COLLECTION,
        connect_timeout: int = 10,
    ) -> None:
        if not _TABLE_NAME.match(table):
            raise VectorStoreError(
                f"{table!r} is not a usable table name: use lower-case letters, digits "
                "and '_', starting with a letter, at most 40 characters."
            )
        self.dimension = dimension
        self.table = table
        self.url = psycopg_url(url)
        self.connect_timeout = connect_timeout
        self._psycopg, self._pgvector = _drivers()
        self._sql: Any = self._psycopg.sql
        self._lock = threading.Lock()
        self._conn: Any = None
        self._closed = False
        try:
            self._run("opening the store", self._ensure_schema)
        except BaseException:
            self.close()
            raise

    # ---- connecting ---------------------------------------------------------------------

    @property
    def _server(self) -> str:
        """The server, without credentials, for messages."""
        try:
            info = self._psycopg.conninfo.conninfo_to_dict(self.url)
        except self._psycopg.ProgrammingError:
            return "the configured PostgreSQL"
        host, port = info.get("host", "localhost"), info.get("port", "5432")
        return f"PostgreSQL at {host}:{port}/{info.get('dbname', '')}"

    def _connection(self) -> Any:
        if self._closed:
            raise VectorStoreError("This pgvector store is closed; open a new one.")
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._psycopg.connect(
                self.url, autocommit=True, connect_timeout=self.connect_timeout
            )
            if self._has_extension(self._conn):
                self._configure(self._conn)
        return self._conn

    def _configure(self, conn: Any) -> None:
        self._pgvector.register_vector(conn)
        conn.execute("SET hnsw.iterative_scan = strict_order")

    def _run(self, action: str, work: Callable[[Any], T]) -> T:
        """Run ``work(connection)`` under the lock, translating driver errors."""
        with self._lock, self._translated(action):
            return work(self._connection())

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            yield
        except self._psycopg.OperationalError as exc:
            raise VectorStoreError(
                f"pgvector store: {action} failed, {self._server} is not reachable: "
                f"{_first_line(exc)}. Check that the server is running and that "
                "MEDKB_VECTOR_URL / MEDKB_DATABASE_URL point to it."
            ) from exc
        except self._psycopg.Error as exc:
            raise VectorStoreError(
                f"pgvector store: {action} failed on table {self.table!r} at {self._server}: "
                f"{_first_line(exc)}."
            ) from exc

    # ---- schema -------------------------------------------------------------------------

    def _has_extension(self, conn: Any) -> bool:
        row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
        return row is not None

    def _ensure_schema(self, conn: Any) -> None:
        with conn.transaction():
            # Concurrent first starts would race on CREATE EXTENSION / TABLE.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('medkb.vector_schema'))")
            if not self._has_extension(conn):
                self._create_extension(conn)
            stored = self._stored_dimension(conn)
            if stored is None:
                self._create_table(conn)
            elif stored != self.dimension:
                raise VectorStoreError(
                    f"The pgvector table {self.table!r} at {self._server} holds {stored}-"
                    f"dimensional vectors, but {self.dimension} were asked for (another "
                    "embedding model?). Use the model it was built with, or drop the table "
                    "and rebuild it from the relational store."
                )
        self._configure(conn)

    def _create_extension(self, conn: Any) -> None:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()
        if available is None:
            raise VectorStoreError(f"{self._server}: {_NO_PGVECTOR}.")
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except self._psycopg.errors.InsufficientPrivilege as exc:
            raise VectorStoreError(
                f"{self._server} has pgvector but this user may not enable it: ask an "
                "administrator to run CREATE EXTENSION vector in this database, or use "
                "MEDKB_VECTOR_URL=local."
            ) from exc

    def _stored_dimension(self, conn: Any) -> int | None:
        row = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass(%s) AND attname = 'question_embedding'",
            (self.table,),
        ).fetchone()
        if row is None:
            return None
        match = re.search(r"\((\d+)\)", row[0])
        return int(match.group(1)) if match else 0

    def _create_table(self, conn: Any) -> None:
        sql, table = self._sql, self._sql.Identifier(self.table)
        vectors = [f"{name}_embedding vector({self.dimension}) NOT NULL" for name in VECTOR_FIELDS]
        filterable = [f"{key} text" for key in FILTERABLE_KEYS]
        columns = [
            "id text PRIMARY KEY",
            "tenant_id text NOT NULL",
            "question text NOT NULL",
            "response text NOT NULL",
            *vectors,
            "embedding_model text NOT NULL",
            "metadata jsonb NOT NULL DEFAULT '{{}}'",  # {{}}: escaped for sql.SQL.format
            "related_nodes jsonb NOT NULL DEFAULT '[]'",
            *filterable,
        ]
        conn.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (" + ", ".join(columns) + ")").format(table)
        )
        conn.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (tenant_id)").format(
                sql.Identifier(f"{self.table}_tenant_idx"), table
            )
        )
        for name in VECTOR_FIELDS:
            conn.execute(
                sql.SQL(
                    "CREATE INDEX IF NOT EXISTS {} ON {} USING hnsw ({} vector_cosine_ops)"
                ).format(
                    sql.Identifier(f"{self.table}_{name}_hnsw"),
                    table,
                    sql.Identifier(f"{name}_embedding"),
                )
            )

    # ---- the VectorStore contract -------------------------------------------------------

    def upsert(self, records: Sequence[VectorRecord]) -> None:
        """Insert or replace records by id, all in one transaction."""
        unique = last_per_id(records)
        for record in unique:
            check_record(record, self.dimension)
        if not unique:
            return
        sql = self._sql
        statement = sql.SQL(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}"
        ).format(
            sql.Identifier(self.table),
            sql.SQL(", ").join(map(sql.Identifier, _COLUMNS)),
            sql.SQL(", ").join(sql.Placeholder() * len(_COLUMNS)),
            sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(column))
                for column in _COLUMNS[1:]
            ),
        )
        rows = [self._row(record) for record in unique]

        def write(conn: Any) -> None:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(statement, rows)

        self._run("writing records", write)

    def _row(self, record: VectorRecord) -> tuple[Any, ...]:
        jsonb = self._psycopg.types.json.Jsonb
        return (
            record.id,
            record.tenant_id,
            record.question,
            record.response,
            *(np.asarray(record.embeddings.get(name), np.float32) for name in VECTOR_FIELDS),
            record.embeddings.model_id,
            jsonb(dict(record.metadata)),
            jsonb(list(record.related_nodes)),
            *(record.metadata.get(key) for key in FILTERABLE_KEYS),
        )

    def delete(self, ids: Sequence[str]) -> None:
        """Remove records by id; unknown ids are ignored."""
        if not ids:
            return
        statement = self._sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(
            self._sql.Identifier(self.table)
        )
        self._run("deleting records", lambda conn: conn.execute(statement, (list(ids),)))

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
        query = as_vector(vector, dimension=self.dimension, what="The query vector")
        checked = checked_filters(filters)
        if field not in VECTOR_FIELDS:
            raise VectorStoreError(f"Unknown vector field {field!r}; use one of {VECTOR_FIELDS}.")
        if k <= 0:
            return []
        statement, params = self._search_sql(query, field, k, tenant_id, checked)
        rows = self._run("searching", lambda conn: self._search_rows(conn, statement, params, k))
        return [VectorHit(id=row[0], score=min(1.0, max(-1.0, float(row[1])))) for row in rows]

    def _search_sql(
        self, query: Vector, field: VectorField, k: int, tenant_id: str,
        filters: dict[str, list[str]],
    ) -> tuple[Any, list[Any]]:  # fmt: skip
        sql = self._sql
        clauses = [sql.SQL("tenant_id = %s")]
        params: list[Any] = [query, tenant_id]
        for key, values in filters.items():
            clauses.append(sql.SQL("{} = ANY(%s)").format(sql.Identifier(key)))
            params.append(values)
        statement = sql.SQL(
            "SELECT id, 1 - ({col} <=> %s) FROM {table} WHERE {where} "
            "ORDER BY {col} <=> %s LIMIT %s"
        ).format(
            col=sql.Identifier(f"{field}_embedding"),
            table=sql.Identifier(self.table),
            where=sql.SQL(" AND ").join(clauses),
        )
        return statement, [*params, query, k]

    def _search_rows(self, conn: Any, statement: Any, params: list[Any], k: int) -> list[Any]:
        conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(max(40, k)),))
        rows: list[Any] = conn.execute(statement, params).fetchall()
        if len(rows) < k:
            # The graph walk gave up before k rows passed the filter: rank every match.
            with conn.transaction():
                conn.execute("SET LOCAL enable_indexscan = off")
                rows = conn.execute(statement, params).fetchall()
        return rows

    def fetch(self, ids: Sequence[str]) -> list[VectorRecord]:
        """Return the stored records for ``ids`` in that order (missing ids are skipped)."""
        if not ids:
            return []
        sql = self._sql
        statement = sql.SQL("SELECT {} FROM {} WHERE id = ANY(%s)").format(
            sql.SQL(", ").join(map(sql.Identifier, _COLUMNS)), sql.Identifier(self.table)
        )
        rows = self._run(
            "reading records", lambda conn: conn.execute(statement, (list(ids),)).fetchall()
        )
        return ordered({row[0]: _record(row) for row in rows}, ids)

    def ids(self, tenant_id: str | None = None) -> Iterator[str]:
        """Every stored id (of one tenant, or all), in id (byte) order."""
        rows = self._select("id", tenant_id, 'ORDER BY id COLLATE "C"')
        return iter([str(row[0]) for row in rows])

    def count(self, tenant_id: str | None = None) -> int:
        """Number of stored records (of one tenant, or all)."""
        return int(self._select("count(*)", tenant_id)[0][0])

    def _select(self, what: str, tenant_id: str | None, tail: str = "") -> list[Any]:
        sql = self._sql
        where = sql.SQL("") if tenant_id is None else sql.SQL("WHERE tenant_id = %s")
        statement = sql.SQL("SELECT {} FROM {} {} {}").format(
            sql.SQL(what), sql.Identifier(self.table), where, sql.SQL(tail)
        )
        params = () if tenant_id is None else (tenant_id,)
        return self._run("reading", lambda conn: conn.execute(statement, params).fetchall())

    def drop(self) -> None:
        """Drop the table (its indexes go with it) and close the connection."""
        statement = self._sql.SQL("DROP TABLE IF EXISTS {}").format(
            self._sql.Identifier(self.table)
        )
        try:
            self._run("dropping the table", lambda conn: conn.execute(statement))
        finally:
            self.close()

    def close(self) -> None:
        """Close the connection; later calls fail."""
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _record(row: tuple[Any, ...]) -> VectorRecord:
    values = dict(zip(_COLUMNS, row, strict=True))

    def vector(name: str) -> Vector:
        value = values[f"{name}_embedding"]
        array = value.to_numpy() if hasattr(value, "to_numpy") else value
        return np.asarray(array, dtype=np.float32)

    return VectorRecord(
        id=values["id"],
        tenant_id=values["tenant_id"],
        question=values["question"],
        response=values["response"],
        metadata={str(k): str(v) for k, v in values["metadata"].items()},
        related_nodes=[str(node) for node in values["related_nodes"]],
        embeddings=Embeddings(
            question=vector("question"),
            response=vector("response"),
            combined=vector("combined"),
            model_id=values["embedding_model"],
        ),
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
