"""Migration 0004 upgrades a knowledge base that already holds data (issue 8, item 15).

A database is built at revision 0003 and written through the 0003 triggers (inserts, an
update, a delete, and on SQLite a duplicate FTS row such as a crashed write could leave),
then upgraded: keyword search still finds every pair, updates and deletes still reach the
keyword index, and a second run of the migration changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from medkb.models import Embeddings, QAMetadata, QAPair
from medkb.stores.relational import engine as relational
from medkb.stores.relational import pairs
from medkb.stores.relational.keyword import keyword_search

NOW = datetime(2026, 12, 4, tzinfo=UTC)
WORDS = ["asthma", "diabetes", "migraine", "anaemia", "gout", "eczema", "angina", "psoriasis"]


def alembic(engine: sa.Engine, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(relational.MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def pair(n: int, word: str) -> QAPair:
    return QAPair(
        id=f"p{n}",
        question=f"What is {word}?",
        response=f"{word.title()} is discussed with a clinician.",
        metadata=QAMetadata(category="Test"),
    )


def vectors() -> Embeddings:
    v = np.ones(4, dtype=np.float32) / 2
    return Embeddings(question=v, response=v, combined=v, model_id="test")


def write(conn: sa.Connection, batch: list[QAPair], *, existing: list[str] = ()) -> None:  # type: ignore[assignment]
    pairs.write_pairs(conn, batch, [vectors() for _ in batch], existing=existing, now=NOW)


def found(conn: sa.Connection, word: str) -> list[str]:
    hits = keyword_search(conn, [word], tenant_id="default", filters=None, limit=10)
    return [qa_id for qa_id, _ in hits]


@pytest.fixture
def at_0003(database_url: str) -> Iterator[sa.Engine]:
    """A database at revision 0003 with data written through the 0003 triggers."""
    engine = relational.make_engine(database_url)
    alembic(engine, "upgrade", "0003")
    with engine.begin() as conn:
        pairs.ensure_tenant(conn, "default", now=NOW)
        write(conn, [pair(n, word) for n, word in enumerate(WORDS)])
        write(conn, [pair(1, "hypertension")], existing=["p1"])
        pairs.delete_pairs(conn, ["p2"], tenant_id="default")
        if engine.dialect.name == "sqlite":  # a duplicate FTS row, to be dropped
            conn.exec_driver_sql(
                "INSERT INTO qa_fts (qa_id, question, response) VALUES ('p3', 'migraine', '')"
            )
    yield engine
    engine.dispose()


def test_migration_0004_keeps_keyword_search_working_on_existing_data(at_0003: sa.Engine) -> None:
    relational.upgrade(at_0003)
    assert relational.current_revision(at_0003) == relational.shipped_head()  # 0004 and later
    with at_0003.begin() as conn:
        assert found(conn, "asthma") == ["p0"] and found(conn, "hypertension") == ["p1"]
        assert found(conn, "anaemia") == ["p3"] and found(conn, "diabetes") == []
        assert found(conn, "migraine") == []  # deleted p2, and p3's duplicate row dropped
        write(conn, [pair(0, "bronchitis")], existing=["p0"])
        pairs.delete_pairs(conn, ["p4"], tenant_id="default")
        write(conn, [pair(9, "measles")])
    with at_0003.connect() as conn:
        assert found(conn, "bronchitis") == ["p0"] and found(conn, "asthma") == []
        assert found(conn, "gout") == [] and found(conn, "measles") == ["p9"]
        check_fts_consistent(conn)
    with at_0003.connect() as conn:
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("outbox")}
    assert "ix_outbox_qa_id" in indexes


def test_migration_0004_runs_again_without_change(at_0003: sa.Engine) -> None:
    relational.upgrade(at_0003)
    alembic(at_0003, "stamp", "0003")
    relational.upgrade(at_0003)  # every step again, on a database that has them all
    with at_0003.connect() as conn:
        check_fts_consistent(conn)
        assert found(conn, "eczema") == ["p5"]


def test_migration_0004_downgrades_to_the_scanning_triggers(at_0003: sa.Engine) -> None:
    relational.upgrade(at_0003)
    alembic(at_0003, "downgrade", "0003")
    with at_0003.begin() as conn:
        write(conn, [pair(7, "gastritis")], existing=["p7"])
        assert found(conn, "gastritis") == ["p7"] and found(conn, "psoriasis") == []
    relational.upgrade(at_0003)
    with at_0003.connect() as conn:
        check_fts_consistent(conn)


def check_fts_consistent(conn: sa.Connection) -> None:
    """SQLite: one FTS row and one key per pair, the FTS rowid being the key."""
    if conn.dialect.name != "sqlite":
        return
    ids = set(conn.exec_driver_sql("SELECT id FROM medical_qa_metadata").scalars())
    fts = conn.exec_driver_sql("SELECT rowid, qa_id FROM qa_fts").all()
    keys = conn.exec_driver_sql("SELECT id, qa_id FROM qa_fts_keys").all()
    assert sorted(fts) == sorted(keys) and {qa_id for _, qa_id in keys} == ids
    assert len(keys) == len(ids)
    conn.exec_driver_sql("INSERT INTO qa_fts (qa_fts) VALUES ('integrity-check')")
