"""Open a bus by URL: ``db`` (the knowledge base's own database), ``sqlite:///…`` /
``postgresql://…`` (another database, migrated first), ``redis://…``, ``kafka://…``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from medkb.config import normalise_postgres_url
from medkb.errors import ConfigError
from medkb.redact import mask_url
from medkb.stream.bus.base import Bus

BUS_SCHEMES = ("db", "sqlite", "postgresql", "postgres", "redis", "rediss", "kafka")


def open_bus(url: str, *, database_url: str | None = None, visibility_s: float = 30.0) -> Bus:
    """The bus ``url`` names.

    Args:
        url: ``db``, a database URL, a ``redis://`` URL or ``kafka://HOST:PORT``.
        database_url: the knowledge base's database, used for ``db``.
        visibility_s: seconds a delivery stays hidden from the group's other consumers
            before it is delivered again.

    Raises:
        ConfigError: an unknown scheme, or ``db`` without a database.
    """
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme in ("redis", "rediss"):
        from medkb.stream.bus.redis import RedisBus

        return RedisBus(url, visibility_s=visibility_s)
    if scheme == "kafka":
        from medkb.stream.bus.kafka import KafkaBus

        return KafkaBus(url, visibility_s=visibility_s)
    if scheme in ("db", "sqlite", "postgresql", "postgres"):
        return _db_bus(url if scheme != "db" else database_url, visibility_s)
    raise ConfigError(
        f"Unknown bus {mask_url(url)!r}: use db, sqlite:///FILE, postgresql://… or "
        "redis://HOST:PORT/DB or kafka://HOST:PORT."
    )


def _plan_every_claim(dbapi_connection: Any, _record: Any) -> None:
    """No server-side prepared statements on the bus's connections.

    psycopg prepares a statement after five runs, and PostgreSQL may then keep a generic
    plan for the claim query chosen on the statistics of an empty table: measured, a
    claim of 500 events went from 15 ms to 3–6 s once the group had 5,000 claims. Planned
    each time with its values, the claim stays a merge anti-join (tens of ms at 10,000).
    """
    dbapi_connection.prepare_threshold = None


def _db_bus(url: str | None, visibility_s: float) -> Bus:
    from medkb.stores.relational.engine import make_engine, upgrade
    from medkb.stream.bus.db import DbBus

    if not url:
        raise ConfigError("--bus db needs the knowledge base's database (MEDKB_DATABASE_URL).")
    engine = make_engine(normalise_postgres_url(url))
    if engine.dialect.name == "postgresql":
        sa.event.listen(engine, "connect", _plan_every_claim)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return DbBus(engine, visibility_s=visibility_s, owns_engine=True)
