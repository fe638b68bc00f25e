"""Snapshot and restore of the relational store (the system of record).

Three forms, each one consistent snapshot:

* ``sqlite-file`` — SQLite's online backup API (``sqlite3.Connection.backup``) copies the
  database while writers keep running (WAL mode lets them);
* ``pg_dump`` — ``pg_dump -Fc`` of medkb's tables, run on a snapshot exported from a
  REPEATABLE READ transaction, so the row counts in the manifest are of exactly the
  dumped data. Used when a ``pg_dump`` at least as new as the server is on PATH;
* ``jsonl`` — the logical dump of :mod:`medkb.backup.tables` (PostgreSQL without a usable
  ``pg_dump``, or ``--logical``), which restores into SQLite or PostgreSQL alike.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from medkb.backup.tables import count_rows, dump_tables, tables_in_fk_order
from medkb.errors import RelationalStoreError
from medkb.stores.relational.engine import MIGRATIONS
from medkb.stores.relational.schema import kb_info, qa, tenants

#: The folder of a backup that holds the relational dump.
RELATIONAL_DIR = "relational"
SQLITE_FILE = "medkb.sqlite3"
PG_DUMP_FILE = "medkb.pgdump"


@dataclass
class RelationalSnapshot:
    """What one snapshot of the relational store holds."""

    dialect: str
    kind: str  # sqlite-file | pg_dump | jsonl
    revision: str
    tables: dict[str, int]
    tenants: list[str]
    kb_info: dict[str, str]
    tool: str | None = None  # "pg_dump (PostgreSQL) 15.20" when pg_dump made it
    files: list[str] = field(default_factory=list)


def known_revisions() -> set[str]:
    """Every schema revision this medkb's migrations know."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def describe(conn: sa.Connection) -> tuple[str, dict[str, int], list[str], dict[str, str]]:
    """(schema revision, rows per table, tenants, kb_info) as ``conn`` sees them."""
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None:
        raise RelationalStoreError(
            f"The database at {conn.engine.url!r} holds no medkb knowledge base (no schema). "
            "Check --home / MEDKB_DATABASE_URL."
        )
    ids = {row[0] for row in conn.execute(sa.select(tenants.c.id))}
    ids |= {row[0] for row in conn.execute(sa.select(qa.c.tenant_id).distinct())}
    info = {row.key: row.value for row in conn.execute(sa.select(kb_info))}
    return revision, count_rows(conn), sorted(ids), info


def snapshot(engine: sa.Engine, directory: Path, *, logical: bool = False) -> RelationalSnapshot:
    """Write one consistent snapshot of the relational store into ``directory``.

    Raises:
        RelationalStoreError: the database could not be read or ``pg_dump`` failed.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        return _sqlite_snapshot(engine, directory, logical=logical)
    return _postgres_snapshot(engine, directory, logical=logical)


def sqlite_path(url: sa.URL | str) -> Path:
    """The file of a ``sqlite:///`` URL."""
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise RelationalStoreError(f"{url!r} is not a SQLite file; medkb backs up files only.")
    return Path(database)


def _sqlite_snapshot(engine: sa.Engine, directory: Path, *, logical: bool) -> RelationalSnapshot:
    target, path = directory / SQLITE_FILE, sqlite_path(engine.url)
    if not path.is_file():
        raise RelationalStoreError(
            f"There is no medkb database at {path}. Check --home / MEDKB_HOME and "
            "MEDKB_DATABASE_URL."
        )
    with (
        closing(sqlite3.connect(path, timeout=30)) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)  # all pages in one step: one read transaction, consistent
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    copy_engine = sa.create_engine(f"sqlite:///{target}")
    try:
        with copy_engine.connect() as conn:
            revision, tables, ids, info = describe(conn)
            if logical:
                dump_tables(conn, directory)
    finally:
        copy_engine.dispose()
    if logical:
        target.unlink()
    kind = "jsonl" if logical else "sqlite-file"
    return RelationalSnapshot("sqlite", kind, revision, tables, ids, info)


def _postgres_snapshot(engine: sa.Engine, directory: Path, *, logical: bool) -> RelationalSnapshot:
    with engine.connect() as plain:
        conn = plain.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            revision, tables, ids, info = describe(conn)
            tool = None if logical else usable_pg_dump(conn)
            if tool is None:
                dump_tables(conn, directory)
                return RelationalSnapshot("postgresql", "jsonl", revision, tables, ids, info)
            exported = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            names = [*tables, "alembic_version", *_views(conn)]
            _run_pg_dump(tool, engine.url, directory / PG_DUMP_FILE, snapshot=exported, names=names)
    version = _tool_version(tool)
    return RelationalSnapshot("postgresql", "pg_dump", revision, tables, ids, info, tool=version)


def _views(conn: sa.Connection) -> list[str]:
    """medkb's views (``qa_with_stats``, ``popular_qa``, and any later migration adds)."""
    inspector = sa.inspect(conn)
    return sorted(inspector.get_view_names())


def _tool_version(tool: str) -> str:
    done = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def _major(text: str) -> int:
    found = re.search(r"(\d+)(?:\.\d+)*", text)
    return int(found.group(1)) if found else 0


def usable_pg_dump(conn: sa.Connection) -> str | None:
    """A ``pg_dump`` on PATH at least as new as the server, or ``None``."""
    tool = shutil.which("pg_dump")
    if tool is None:
        return None
    server = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
    return tool if _major(_tool_version(tool)) >= server else None


def libpq_args(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment that carries it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run_pg_dump(tool: str, url: sa.URL, path: Path, *, snapshot: str, names: list[str]) -> None:
    target, env = libpq_args(url)
    args = [tool, "-Fc", "--no-owner", "--no-acl", f"--snapshot={snapshot}", "-f", str(path)]
    args += [f"--table={name}" for name in names]
    done = subprocess.run([*args, target], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RelationalStoreError(
            f"pg_dump failed ({done.returncode}): {done.stderr.strip()}. Check that the "
            "database is reachable, or run 'medkb backup --logical' to dump it without pg_dump."
        )


def table_names(conn: sa.Connection) -> list[str]:
    """medkb tables that exist in the database ``conn`` is connected to."""
    present = set(sa.inspect(conn).get_table_names())
    return [table.name for table in tables_in_fk_order() if table.name in present]
