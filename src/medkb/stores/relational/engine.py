"""Connecting to the relational store and bringing its schema up to date.

SQLite runs in WAL mode with foreign keys on (cascading deletes depend on it) and a busy
timeout so a second process waits instead of failing. PostgreSQL uses psycopg 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from medkb.errors import missing_dependency
from medkb.stores.relational.errors import install, shown_url, translate

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> sa.Engine:
    """Create an engine for ``url`` with medkb's connection settings.

    Its driver errors reach callers as medkb errors (:mod:`.errors`).
    """
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url)
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise missing_dependency("psycopg", "postgres", "A PostgreSQL database") from exc
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    install(engine)
    return engine


def _sqlite_engine(url: str) -> sa.Engine:
    path = sa.engine.make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of medkb."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine) -> None:
    """Apply every pending migration, each in its own transaction."""
    config = _alembic_config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except sa.exc.OperationalError as exc:  # an engine make_engine did not make
        raise translate(exc, where=shown_url(engine.url), unreachable=False) from exc
