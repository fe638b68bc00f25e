"""Restoring the relational store from a backup, beside the target, and switching at the end.

:func:`preflight` checks, before anything is written, that the backup's form fits the target
database (a SQLite file restores into SQLite, a ``pg_dump`` into PostgreSQL with a
``pg_restore`` on PATH, a logical dump into either). :func:`contents` and :func:`target_info`
say what the target already holds.

The data is never loaded into the target itself. :func:`stage` returns a
:class:`StagedDatabase`: for SQLite a new file beside the target database
(``.<name>.restore-<token>``), for PostgreSQL a new schema ``medkb_restore_<token>`` in the
target database (:mod:`medkb.backup.pg_stage`). The restore loads, migrates and checks it
there; :meth:`StagedDatabase.commit` then switches it in with one atomic step (a file
rename; one transaction that swaps medkb's tables between schemas), and
:meth:`StagedDatabase.discard` removes it after a failure. Until the commit the target is
exactly as it was.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from contextlib import closing, suppress
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from medkb.backup.manifest import Manifest
from medkb.backup.relational import RELATIONAL_DIR, SQLITE_FILE, sqlite_path, table_names
from medkb.backup.tables import load_tables
from medkb.errors import InputError, InvalidBackup, RelationalStoreError
from medkb.stores.relational import engine as relational
from medkb.stores.relational.schema import kb_info

_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
#: Marks what a restore stages beside its target (files, folders); never anything else.
STAGED_MARK = ".restore-"


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


def _exists(url: str) -> bool:
    return dialect_of(url) != "sqlite" or sqlite_path(url).exists()


def contents(url: str) -> dict[str, int]:
    """Rows per non-empty medkb table in the target database (``{}``: empty or absent)."""
    if not _exists(url):
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


def target_info(url: str) -> dict[str, str]:
    """The target's ``kb_info`` (its model and active vector collection); ``{}`` if none."""
    if not _exists(url):
        return {}
    engine = relational.make_engine(url)
    try:
        with engine.connect() as conn:
            if kb_info.name not in table_names(conn):
                return {}
            return {row.key: row.value for row in conn.execute(sa.select(kb_info))}
    finally:
        engine.dispose()


class StagedDatabase(Protocol):
    """A relational store being restored beside the target, switched in by :meth:`commit`."""

    def sweep(self) -> None:
        """Remove what killed restores staged beside the target, and prepare this one."""

    def engine(self) -> sa.Engine:
        """An engine on the staged database (the caller disposes of it)."""

    def load(self, folder: Path, manifest: Manifest) -> None:
        """Load the backup's relational data and migrate it to this medkb's newest schema."""

    def commit(self) -> None:
        """Replace the target with the staged database in one atomic step."""

    def discard(self) -> None:
        """Remove the staged database (after a failure); the target is untouched."""


def stage(url: str) -> StagedDatabase:
    """A new staged database beside the target ``url``; stale ones of killed runs go first."""
    token = secrets.token_hex(4)
    if dialect_of(url) == "sqlite":
        staged: StagedDatabase = SqliteStage(sqlite_path(url), token=token)
    else:
        from medkb.backup.pg_stage import PostgresStage

        staged = PostgresStage(url, token=token)
    staged.sweep()
    return staged


class SqliteStage:
    """A SQLite restore: a new file beside the target, renamed over it at the commit."""

    def __init__(self, target: Path, *, token: str) -> None:
        self.target = target
        self.path = target.with_name(f".{target.name}{STAGED_MARK}{token}")

    @property
    def url(self) -> str:
        """The staged file's URL."""
        return f"sqlite:///{self.path}"

    def sweep(self) -> None:
        """Remove staged files a killed restore left beside the target."""
        for path in self.target.parent.glob(f".{self.target.name}{STAGED_MARK}*"):
            path.unlink(missing_ok=True)

    def engine(self) -> sa.Engine:
        """An engine on the staged file."""
        return relational.make_engine(self.url)

    def load(self, folder: Path, manifest: Manifest) -> None:
        """Copy the backup's SQLite file, or load its logical dump, then migrate to head."""
        self.target.parent.mkdir(parents=True, exist_ok=True)
        directory = folder / RELATIONAL_DIR
        if manifest.relational["kind"] == "sqlite-file":
            shutil.copyfile(directory / SQLITE_FILE, self.path)
        engine = self.engine()
        try:
            if manifest.relational["kind"] != "sqlite-file":
                load_logical(directory, engine, revision=manifest.schema_revision)
            relational.upgrade(engine)
        finally:
            engine.dispose()

    def commit(self) -> None:
        """Make the staged file self-contained, then rename it over the target."""
        with closing(sqlite3.connect(self.path)) as staged:
            staged.execute("PRAGMA journal_mode=DELETE")  # no -wal beside it: one file
        with self.path.open("rb+") as handle:
            os.fsync(handle.fileno())
        if self.target.exists():
            _checkpoint(self.target)
        os.replace(self.path, self.target)  # the commit point
        for name in _SQLITE_SIDE_FILES:  # an old WAL must never be replayed onto the new file
            Path(f"{self.target}{name}").unlink(missing_ok=True)
        with suppress(OSError):  # durability of the rename only; it has happened
            _fsync_dir(self.target.parent)

    def discard(self) -> None:
        """Delete the staged file and its side files."""
        for name in ("", *_SQLITE_SIDE_FILES):
            Path(f"{self.path}{name}").unlink(missing_ok=True)


def _checkpoint(path: Path) -> None:
    """Fold the target's WAL into its file, refusing while another process uses it."""
    with closing(sqlite3.connect(path, timeout=5)) as conn:
        busy, log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy or log > 0:
        raise InputError(
            f"The knowledge base at {path} is in use by another process (API, worker, "
            "query), so it cannot be replaced. Stop every medkb process using it and run "
            "medkb restore --force again; nothing was changed."
        )


def _fsync_dir(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def load_logical(directory: Path, engine: sa.Engine, *, revision: str) -> None:
    """Create the schema at the backup's revision, then load every table in one transaction.

    Raises:
        RelationalStoreError: the load failed; nothing of it was committed.
    """
    try:
        with engine.begin() as conn:
            migrate_to(conn, revision)
            load_tables(conn, directory)
    except (sa.exc.SQLAlchemyError, RelationalStoreError) as exc:
        raise RelationalStoreError(
            f"Loading the logical dump failed: {exc}. The target is unchanged; fix the "
            "cause (or restore another backup) and run medkb restore again."
        ) from exc


def migrate_to(conn: sa.Connection, revision: str) -> None:
    """Run medkb's migrations on ``conn`` up to ``revision`` (the backup's own)."""
    config = Config()
    config.set_main_option("script_location", str(relational.MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, revision)
