"""Connecting to the relational store and bringing its schema up to date.

SQLite runs in WAL mode with foreign keys on (cascading deletes depend on it) and a busy
timeout so a second process waits instead of failing. PostgreSQL uses psycopg 3.

Alembic (with mako and pygments behind it) takes a tenth of a second to import, more than
a whole query, so :func:`upgrade` first reads ``alembic_version`` with plain SQL and
imports alembic only when a migration is due.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from medkb.errors import RelationalStoreError, missing_dependency
from medkb.stores.relational.errors import install, shown_url, translate
from medkb.stores.relational.planner import seed_statistics

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*(None|['\"]([^'\"]+)['\"])", re.M)


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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of medkb."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@cache
def shipped_head() -> str:
    """The head revision read from the migration files themselves, without alembic.

    The head is the one revision no other file names as its ``down_revision``; a test
    checks that this agrees with alembic's own reading of the scripts.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        for kind, _literal, value in _REVISION.findall(script.read_text(encoding="utf-8")):
            if value:
                (revisions if kind == "revision" else parents).add(value)
    heads = revisions - parents
    if len(heads) != 1:
        raise RelationalStoreError(
            f"The migrations in {MIGRATIONS} have {len(heads)} heads ({sorted(heads)}); "
            "reinstall medkb."
        )
    return heads.pop()


def at_head(engine: sa.Engine) -> bool:
    """Whether the database's ``alembic_version`` already names :func:`shipped_head`."""
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return False
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    except sa.exc.OperationalError:
        return False  # let upgrade() report it with its advice
    return [row[0] for row in rows] == [shipped_head()]


def upgrade(engine: sa.Engine) -> None:
    """Apply every pending migration, each in its own transaction; on SQLite, give the
    planner the statistics of :mod:`.planner`."""
    if not at_head(engine):
        _migrate(engine)
    seed_statistics(engine)


def _migrate(engine: sa.Engine) -> None:
    from alembic import command

    config = _alembic_config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except sa.exc.OperationalError as exc:  # an engine make_engine did not make
        raise translate(exc, where=shown_url(engine.url), unreachable=False) from exc
