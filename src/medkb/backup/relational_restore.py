"""Restoring the relational store from a backup, and looking at the target first.

:func:`preflight` checks, before anything is written, that the backup's form fits the target
database (a SQLite file restores into SQLite, a ``pg_dump`` into PostgreSQL with a
``pg_restore`` on PATH, a logical dump into either). :func:`contents` says what the target
already holds; :func:`wipe` removes medkb's tables (only those) for ``--force``.
:func:`restore` loads the data and migrates it to this medkb's newest schema.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from medkb.backup.manifest import Manifest
from medkb.backup.relational import (
    PG_DUMP_FILE,
    RELATIONAL_DIR,
    SQLITE_FILE,
    libpq_args,
    sqlite_path,
    table_names,
)
from medkb.backup.tables import load_tables, tables_in_fk_order
from medkb.errors import InvalidBackup, RelationalStoreError
from medkb.stores.relational import engine as relational

_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def dialect_of(url: str) -> str:
    """``sqlite`` or ``postgresql``."""
    return sa.engine.make_url(url).get_backend_name()


def preflight(manifest: Manifest, url: str) -> None:
    """Refuse a backup whose relational form cannot be restored into ``url``."""
    kind, source = manifest.relational["kind"], manifest.relational["dialect"]
    target = dialect_of(url)
    if kind == "sqlite-file" and target != "sqlite":
        raise InvalidBackup(
            "This backup holds a SQLite database file, and the target is PostgreSQL. Restore "
            "it into SQLite (leave MEDKB_DATABASE_URL unset), then run 'medkb migrate'; or "
            "take the backup with 'medkb backup --logical', which restores into either."
        )
    if kind == "pg_dump" and target != "postgresql":
        raise InvalidBackup(
            f"This backup holds a pg_dump of a {source} database, and the target is SQLite. "
            "Restore it into PostgreSQL (MEDKB_DATABASE_URL=postgresql://...), or take the "
            "backup with 'medkb backup --logical', which restores into either."
        )
    if kind == "pg_dump" and shutil.which("pg_restore") is None:
        raise InvalidBackup(
            "This backup holds a pg_dump, and no pg_restore is on PATH. Install the "
            f"PostgreSQL client tools ({manifest.relational.get('tool') or 'pg_dump'} made it)."
        )
    if kind not in ("sqlite-file", "pg_dump", "jsonl"):
        raise InvalidBackup(f"Unknown relational dump kind {kind!r}; the manifest is damaged.")


def contents(url: str) -> dict[str, int]:
    """Rows per non-empty medkb table in the target database (``{}``: empty or absent)."""
    if dialect_of(url) == "sqlite" and not sqlite_path(url).exists():
        return {}
    engine = relational.make_engine(url)
    try:
        with engine.connect() as conn:
            counts = {
                name: int(conn.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one())
                for name in table_names(conn)
            }
    finally:
        engine.dispose()
    return {name: rows for name, rows in counts.items() if rows}


def wipe(url: str) -> None:
    """Remove medkb's relational data at ``url``: the SQLite file, or medkb's tables."""
    if dialect_of(url) == "sqlite":
        path = sqlite_path(url)
        for name in ("", *_SQLITE_SIDE_FILES):
            Path(f"{path}{name}").unlink(missing_ok=True)
        return
    engine = relational.make_engine(url)
    try:
        with engine.begin() as conn:
            for table in reversed(tables_in_fk_order()):
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table.name}" CASCADE')
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    finally:
        engine.dispose()


def restore(folder: Path, manifest: Manifest, url: str) -> None:
    """Load the relational data of a checked backup ``folder`` into the empty database ``url``.

    Raises:
        RelationalStoreError: the load failed; the target may hold part of the data, so
            run the restore again with ``--force`` once the cause is fixed.
    """
    kind, directory = manifest.relational["kind"], folder / RELATIONAL_DIR
    if kind == "sqlite-file":
        _copy_sqlite(directory / SQLITE_FILE, sqlite_path(url))
    elif kind == "pg_dump":
        _pg_restore(directory / PG_DUMP_FILE, url)
    else:
        _load_logical(directory, url, revision=manifest.schema_revision)
    engine = relational.make_engine(url)
    try:
        relational.upgrade(engine)
    finally:
        engine.dispose()


def _copy_sqlite(source: Path, target: Path) -> None:
    for name in _SQLITE_SIDE_FILES:  # a stale WAL must never be replayed onto the copy
        Path(f"{target}{name}").unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(source, tmp)
    with tmp.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def _pg_restore(path: Path, url: str) -> None:
    target, env = libpq_args(sa.engine.make_url(url))
    tool = shutil.which("pg_restore") or "pg_restore"
    args = [tool, "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction"]
    done = subprocess.run(
        [*args, "-d", target, str(path)], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RelationalStoreError(
            f"pg_restore failed ({done.returncode}): {done.stderr.strip()}. Nothing was "
            "loaded (single transaction); fix the cause and run medkb restore again."
        )


def _load_logical(directory: Path, url: str, *, revision: str) -> None:
    """Create the schema at the backup's revision, then load every table in one transaction."""
    engine = relational.make_engine(url)
    try:
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(relational.MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            load_tables(conn, directory)
    except (sa.exc.SQLAlchemyError, RelationalStoreError) as exc:
        raise RelationalStoreError(
            f"Loading the logical dump into {engine.url!r} failed: {exc}. Run medkb restore "
            "again with --force once the cause is fixed."
        ) from exc
    finally:
        engine.dispose()
