"""Driver errors reach callers as medkb errors, translated at the relational engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from medkb.app import build
from medkb.config import Settings
from medkb.errors import DatabaseUnavailable, WriteConflict
from medkb.stores.relational.engine import make_engine
from medkb.stores.relational.errors import install
from medkb.stores.relational.schema import tenants
from medkb.sync.apply import utcnow
from tests.fixtures_servers import free_port

SECRET = "s3cret"


def test_a_unique_violation_is_a_write_conflict_chained_to_the_driver_error(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE clash (id INTEGER PRIMARY KEY)")
            conn.exec_driver_sql("INSERT INTO clash VALUES (1)")
        clash = pytest.raises(WriteConflict, match="run the command again")
        with clash as raised, engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO clash VALUES (2)")
            conn.exec_driver_sql("INSERT INTO clash VALUES (1)")
        assert type(raised.value.__cause__).__name__ in ("IntegrityError", "UniqueViolation")
        assert raised.value.exit_code == 75
        with engine.connect() as conn:  # rolled back whole: row 2 is not there
            assert conn.exec_driver_sql("SELECT id FROM clash").scalars().all() == [1]
    finally:
        engine.dispose()


def test_an_unreachable_postgresql_is_database_unavailable_without_the_password() -> None:
    port = free_port()  # nothing listens there
    engine = make_engine(f"postgresql+psycopg://medkb:{SECRET}@127.0.0.1:{port}/kb")
    try:
        with pytest.raises(DatabaseUnavailable) as raised, engine.connect():
            pass
    finally:
        engine.dispose()
    message = str(raised.value)
    assert SECRET not in message and "medkb:***@127.0.0.1" in message
    assert "nothing was done" in message and raised.value.exit_code == 69
    assert type(raised.value.__cause__).__module__.startswith("psycopg")  # the driver's own


def test_a_sqlite_file_locked_past_the_busy_timeout_is_a_write_conflict(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    engine = make_engine(url)
    impatient = sa.create_engine(url, connect_args={"timeout": 0.1})
    install(impatient)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        with engine.connect() as holder:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
            holder.exec_driver_sql("INSERT INTO t VALUES (1)")
            with pytest.raises(WriteConflict, match="locked"), impatient.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            holder.exec_driver_sql("ROLLBACK")
    finally:
        impatient.dispose()
        engine.dispose()


@pytest.mark.postgres
def test_a_failed_pre_ping_still_reconnects(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        admin = make_engine(pg_url)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        admin.dispose()
        with engine.connect() as conn:  # the pooled connection is dead; the ping replaces it
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        engine.dispose()


CLI_INGEST = [sys.executable, "-m", "medkb.cli", "ingest"]


@pytest.mark.postgres
def test_a_concurrent_writer_creating_the_same_tenant_row_waits_and_succeeds(
    tmp_path: Path, embed_cache: Path, pg_url: str
) -> None:
    """Another writer creates the same tenant row between this writer's check and insert:
    PostgreSQL makes the insert wait on the other transaction. It once then refused it
    (a unique violation, shown as WriteConflict, exit 75); the tenant row is now inserted
    ON CONFLICT DO NOTHING, so the waiting ingest goes through."""
    with build(
        Settings(
            home=tmp_path / "h0", database_url=pg_url, embedder="static", cache_dir=embed_cache
        )
    ):
        pass  # schema in place
    faq = tmp_path / "faq.jsonl"
    faq.write_text(
        json.dumps(
            {
                "id": "race-1",
                "question": "What is gout?",
                "answer": "Gout is arthritis caused by uric acid.",
            }
        )
        + "\n"
    )
    env = {
        **os.environ,
        "MEDKB_HOME": str(tmp_path / "home"),
        "MEDKB_EMBEDDER": "static",
        "MEDKB_CACHE_DIR": str(embed_cache),
        "MEDKB_DATABASE_URL": pg_url,
        "MEDKB_TENANT": "race",
        "COLUMNS": "200",
    }
    env.pop("MEDKB_DEBUG", None)
    other = make_engine(pg_url)
    try:
        with other.connect() as conn:
            transaction = conn.begin()
            conn.execute(tenants.insert().values(id="race", name="race", created_at=utcnow()))
            writer = subprocess.Popen(
                [*CLI_INGEST, str(faq)],
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            _wait_for_a_lock_wait(other, timeout_s=120)
            transaction.commit()
            stdout, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stdout + stderr
        assert "Traceback" not in stdout + stderr
        assert "1 new" in stdout
    finally:
        other.dispose()


def _wait_for_a_lock_wait(engine: sa.Engine, *, timeout_s: float) -> None:
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one():
                return
        time.sleep(0.05)
    raise AssertionError("the writer never waited on the other transaction")
