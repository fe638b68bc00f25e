"""A PostgreSQL restore staged in its own schema and switched in by one transaction.

The backup is loaded into a new schema ``medkb_restore_<token>`` of the target database,
never into ``public``: the schema is built by medkb's migrations at the backup's revision
(on connections whose ``search_path`` is that schema alone), the data loaded into it — the
logical dump, or the ``COPY`` data of a ``pg_dump`` archive streamed out of ``pg_restore``
table by table in foreign-key order — and migrated to this medkb's newest schema.

The commit is ONE transaction: medkb's objects in ``public`` (its tables with their indexes
and sequences, its views and functions) move to a scratch schema, the staged objects move
into ``public``, and the scratch schema is dropped. Nothing else in ``public`` (a pgvector
collection, the ``vector`` extension, a user's own tables) is touched. A restore that fails
or is killed before that transaction leaves ``public`` exactly as it was.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from medkb.backup.manifest import Manifest
from medkb.backup.relational import PG_DUMP_FILE, RELATIONAL_DIR, libpq_args
from medkb.backup.relational_restore import load_logical, migrate_to
from medkb.backup.tables import reset_sequences, tables_in_fk_order
from medkb.errors import InputError, RelationalStoreError
from medkb.stores.relational import engine as relational
from medkb.stores.relational.errors import driver_detail

#: Prefix of the schemas a restore stages into; only such schemas are ever swept.
SCHEMA_PREFIX = "medkb_restore_"
_REPLACED_PREFIX = "medkb_replaced_"
_COPY = re.compile(rb"^COPY (\S+) (\(.*\)) FROM stdin;$")
#: The ALTER command for each relation kind (``pg_class.relkind``).
_ALTER = {
    "r": "TABLE",
    "p": "TABLE",
    "f": "FOREIGN TABLE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "S": "SEQUENCE",
}
_CHUNK = 1 << 20
#: Relations of a schema, less the sequences a column owns (they move with their table).
_RELATIONS = """
SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype IN ('a', 'i')
                  AND d.refclassid = 'pg_class'::regclass)
"""
_FUNCTIONS = """
SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :schema
"""


class PostgresStage:
    """A restore into the schema ``medkb_restore_<token>`` of the target database."""

    def __init__(self, url: str, *, token: str) -> None:
        self.url, self.schema = url, f"{SCHEMA_PREFIX}{token}"

    def sweep(self) -> None:
        """Create the staging schema, dropping those a killed restore left behind."""
        engine = _target(self.url)
        try:
            with engine.begin() as conn:
                for name in _schemas(conn, SCHEMA_PREFIX) + _schemas(conn, _REPLACED_PREFIX):
                    conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
                conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
        finally:
            engine.dispose()

    def engine(self) -> sa.Engine:
        """An engine whose connections see the staging schema only."""
        engine = relational.make_engine(self.url)
        sa.event.listen(engine, "connect", self._search_path)
        return engine

    def _search_path(self, dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{self.schema}"')
        dbapi_connection.commit()

    def load(self, folder: Path, manifest: Manifest) -> None:
        """Build the backup's schema in the staging schema, load the data, migrate to head."""
        directory = folder / RELATIONAL_DIR
        engine = self.engine()
        try:
            if manifest.relational["kind"] == "pg_dump":
                _load_archive(engine, directory / PG_DUMP_FILE, revision=manifest.schema_revision)
            else:
                load_logical(directory, engine, revision=manifest.schema_revision)
            relational.upgrade(engine)
        finally:
            engine.dispose()

    def commit(self) -> None:
        """Swap medkb's objects in ``public`` for the staged ones, in one transaction."""
        replaced = self.schema.replace(SCHEMA_PREFIX, _REPLACED_PREFIX)
        engine = _target(self.url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
                staged = _objects(conn, self.schema)
                conn.exec_driver_sql(f'CREATE SCHEMA "{replaced}"')
                _move(conn, _old_objects(conn, staged), source="public", to=replaced)
                _move(conn, staged, source=self.schema, to="public")
                conn.exec_driver_sql(f'DROP SCHEMA "{replaced}" CASCADE')
                conn.exec_driver_sql(f'DROP SCHEMA "{self.schema}"')
        except (sa.exc.OperationalError, RelationalStoreError) as exc:
            raise InputError(
                f"The knowledge base's tables are in use ({driver_detail(exc)}), so they could "
                "not be replaced. Stop every medkb process using the database and run medkb "
                "restore --force again; nothing was changed."
            ) from exc
        finally:
            engine.dispose()

    def discard(self) -> None:
        """Drop the staging schema with everything in it."""
        engine = _target(self.url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        finally:
            engine.dispose()


def _target(url: str) -> sa.Engine:
    return relational.make_engine(url)


def _schemas(conn: sa.Connection, prefix: str) -> list[str]:
    query = sa.text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :prefix)")
    return list(conn.execute(query, {"prefix": prefix}).scalars())


#: (kind, name, identity arguments) of a relation (kind: relkind) or function (kind: "fn").
_Object = tuple[str, str, str]


def _objects(conn: sa.Connection, schema: str) -> list[_Object]:
    found = [
        (kind, name, "") for name, kind in conn.execute(sa.text(_RELATIONS), {"schema": schema})
    ]
    functions = conn.execute(sa.text(_FUNCTIONS), {"schema": schema})
    return found + [("fn", name, args) for name, args in functions]


def _old_objects(conn: sa.Connection, staged: list[_Object]) -> list[_Object]:
    """medkb's objects in ``public``: its tables, and whatever the staged schema also has."""
    medkb = {table.name for table in tables_in_fk_order()} | {"alembic_version"}
    wanted = {(name, args) for _kind, name, args in staged} | {(name, "") for name in medkb}
    return [obj for obj in _objects(conn, "public") if (obj[1], obj[2]) in wanted]


def _move(conn: sa.Connection, objects: list[_Object], *, source: str, to: str) -> None:
    for kind, name, args in objects:
        if kind == "fn":
            statement = f'ALTER FUNCTION "{source}"."{name}"({args}) SET SCHEMA "{to}"'
        else:
            statement = f'ALTER {_ALTER[kind]} "{source}"."{name}" SET SCHEMA "{to}"'
        conn.exec_driver_sql(statement)


def _load_archive(engine: sa.Engine, archive: Path, *, revision: str) -> None:
    """The schema at ``revision`` by the migrations, then each table's COPY data.

    Raises:
        RelationalStoreError: ``pg_restore`` or the load failed; nothing was committed.
    """
    try:
        with engine.begin() as conn:
            migrate_to(conn, revision)
            for table in tables_in_fk_order():
                _copy_table(conn, archive, table.name, engine.url)
            reset_sequences(conn)
    except (sa.exc.SQLAlchemyError, RelationalStoreError) as exc:
        raise RelationalStoreError(
            f"Loading the pg_dump archive failed: {exc}. The target is unchanged; fix the "
            "cause (or restore another backup) and run medkb restore again."
        ) from exc


def _copy_table(conn: sa.Connection, archive: Path, table: str, url: sa.URL) -> None:
    """Stream one table's data out of ``pg_restore`` into the staging schema's table."""
    tool = shutil.which("pg_restore") or "pg_restore"
    args = [tool, "--data-only", f"--table={table}", "--file=-", str(archive)]
    _target_url, env = libpq_args(url)
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as done:
        assert done.stdout is not None
        _copy_lines(conn, table, iter(done.stdout))
        error = done.stderr.read().decode(errors="replace") if done.stderr else ""
    if done.returncode != 0:
        raise RelationalStoreError(
            f"pg_restore could not read table {table} of {archive.name} ({done.returncode}): "
            f"{error.strip()}. The target is unchanged; restore another backup."
        )


def _copy_lines(conn: sa.Connection, table: str, lines: Iterator[bytes]) -> None:
    raw: Any = conn.connection.driver_connection
    for line in lines:
        found = _COPY.match(line.rstrip(b"\n"))
        if found is None:
            continue
        columns = found.group(2).decode()
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" {columns} FROM STDIN') as copy:
            buffer = bytearray()
            for data in lines:
                if data == b"\\.\n":
                    break
                buffer += data
                if len(buffer) >= _CHUNK:
                    copy.write(bytes(buffer))
                    buffer.clear()
            copy.write(bytes(buffer))
