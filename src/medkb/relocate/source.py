"""The source of ``medkb migrate``: opened read-only, never upgraded, read in one snapshot.

A SQLite source is opened with ``mode=ro`` (and ``PRAGMA query_only``), a PostgreSQL one
with read-only transactions, so nothing ``migrate`` does can write to it. Its schema must
already be at this medkb's newest revision: upgrading it would be a write, so a source at
an older revision is refused with what to run first.

:func:`snapshot` gives one consistent view of the whole source — a single SQLite read
transaction (WAL keeps it stable while writers commit), or a PostgreSQL ``REPEATABLE READ``
transaction — which the final pass of ``migrate`` checksums and catches up from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from medkb.config import Settings
from medkb.errors import InputError, NotFound
from medkb.stores.relational import engine as relational


def open_source(settings: Settings) -> sa.Engine:
    """A read-only engine on the knowledge base of ``settings``, at the newest schema.

    Raises:
        NotFound: there is no knowledge base where the settings point.
        InputError: its schema is not at this medkb's newest revision.
    """
    url = settings.resolved_database_url()
    engine = _sqlite(url) if url.startswith("sqlite") else _postgres(url)
    try:
        _check_revision(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _sqlite(url: str) -> sa.Engine:
    database = sa.make_url(url).database
    if not database or database == ":memory:" or not Path(database).exists():
        raise NotFound(
            f"No knowledge base at {database}: there is nothing to migrate. Point --home "
            "(MEDKB_HOME) or MEDKB_DATABASE_URL at the knowledge base to move."
        )
    uri = f"{Path(database).resolve().as_uri()}?mode=ro"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)

    engine = sa.create_engine(url, creator=connect)  # the URL names it; creator opens it
    sa.event.listen(engine, "connect", _sqlite_read_only)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_read_only(dbapi_connection: Any, _record: Any) -> None:
    # Transactions are ours (BEGIN below), so one of them is one snapshot of the file.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA query_only=ON")


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN")


def _postgres(url: str) -> sa.Engine:
    engine = relational.make_engine(url)
    sa.event.listen(engine, "connect", _postgres_read_only)
    return engine


def _postgres_read_only(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    dbapi_connection.commit()


def _check_revision(engine: sa.Engine) -> None:
    found, head = relational.current_revision(engine), relational.head_revision()
    where = engine.url.render_as_string(hide_password=True)
    if found is None:
        raise NotFound(
            f"The database {where} holds no medkb knowledge base (no schema): there is "
            "nothing to migrate. Check --home / MEDKB_DATABASE_URL."
        )
    if found != head:
        raise InputError(
            f"The knowledge base to migrate is at schema revision {found!r}, and this medkb's "
            f"newest is {head!r}. medkb migrate only reads the source, so it will not upgrade "
            "it: run any medkb command on it first (e.g. 'medkb stats'), which brings it up "
            "to date, then run medkb migrate again. Nothing was changed."
        )


@contextmanager
def snapshot(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One consistent, read-only view of the whole source for as long as the block runs."""
    with engine.connect() as plain:
        conn = plain
        if engine.dialect.name == "postgresql":
            conn = plain.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn
