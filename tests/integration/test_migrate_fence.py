"""``medkb migrate`` had no write fence, and wrote to its "read-only" source.

Tables were copied and checked one after another, so a write to an already-checked table
was lost while the report said ok; and the source was schema-upgraded. Now the final pass
checksums every table in one snapshot of the source and catches up what differs, and the
source is opened read-only. Real databases: a SQLite source in ``tmp_path``, a fresh
database on the machine's PostgreSQL, a writer thread on the source.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.errors import InputError, RelationalStoreError
from medkb.models import QAMetadata, QAPair
from medkb.relocate.migrate import MigrateReport, migrate
from medkb.relocate.source import open_source
from medkb.stores.relational.engine import _alembic_config, current_revision, make_engine
from tests.integration.test_migrate import digests, has_progress, source

__all__ = ["source"]

pytestmark = pytest.mark.postgres


def pairs(start: int, count: int) -> list[QAPair]:
    return [
        QAPair(
            id=f"writer-{i:03d}",
            question=f"What helps with condition number {i}?",
            response=f"Rest, fluids and follow-up number {i} with your doctor.",
            metadata=QAMetadata(category="General"),
        )
        for i in range(start, start + count)
    ]


def write(kb: KnowledgeBase, round_: int) -> None:
    """One writer round: two new pairs, and an update of a pair written long before."""
    kb.add(pairs(2 * round_, 2))
    kb.update("demo-001", response=f"Updated answer, round {round_}.")


def report_digests(report: MigrateReport) -> dict[str, tuple[int, str]]:
    assert all(t.source_checksum == t.target_checksum for t in report.tables)
    return {t.table: (t.rows, t.target_checksum) for t in report.tables}


def file_state(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_writes_during_migrate_reach_the_target_and_the_report_checksums_match_it(
    source: Settings, pg_url: str
) -> None:
    rounds, events = 6, {"started": threading.Event()}
    writer: list[threading.Thread] = []

    def keep_writing() -> None:
        with build(source) as kb:
            for round_ in range(rounds):
                write(kb, round_)

    def on_batch(table: str, copied: int, total: int) -> None:
        # The writer runs while the pairs' tables are copied and checked, and is done by
        # the time the last table is copied: its writes land in tables already copied.
        if table == "medical_qa_metadata" and not events["started"].is_set():
            events["started"].set()
            writer.append(threading.Thread(target=keep_writing))
            writer[0].start()
        if table == "query_log_hits" and writer:
            writer[0].join()

    report = migrate(source, target_url=pg_url, batch_size=16, on_batch=on_batch)
    assert writer and not writer[0].is_alive()
    expected = digests(source.resolved_database_url())
    assert digests(pg_url) == expected  # every write made before the final snapshot
    assert report.ok and report_digests(report) == expected
    assert report.passes >= 2 and sum(t.caught_up for t in report.tables) > 0
    with build(source.model_copy(update={"database_url": pg_url})) as kb:
        assert kb.get("demo-001")["response"] == f"Updated answer, round {rounds - 1}."
        assert kb.get(f"writer-{2 * rounds - 1:03d}")["question"]


def test_writers_that_never_stop_make_migrate_refuse_and_a_rerun_completes(
    source: Settings, pg_url: str
) -> None:
    kb = build(source)
    written = [0]

    def on_batch(table: str, _copied: int, _total: int) -> None:
        # From the last table's copy on, a write after every batch: every final pass's
        # catch-up reports a batch, so every pass finds a new write.
        if written[0] or table == "query_log_hits":
            write(kb, written[0])
            written[0] += 1

    try:
        with pytest.raises(RelationalStoreError, match=r"kept being written.*Stop every"):
            migrate(source, target_url=pg_url, batch_size=50, on_batch=on_batch)
    finally:
        kb.close()
    assert has_progress(pg_url)  # the re-run resumes this copy
    report = migrate(source, target_url=pg_url, batch_size=50)
    expected = digests(source.resolved_database_url())
    assert report.ok and digests(pg_url) == expected and report_digests(report) == expected
    assert not has_progress(pg_url)


def test_migrate_never_writes_to_its_source(source: Settings, pg_url: str) -> None:
    path = source.home / "medkb.db"
    before, revision = file_state(path), revision_of(source)
    assert migrate(source, target_url=pg_url).ok
    assert file_state(path) == before and revision_of(source) == revision
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # nothing was written through a WAL


def test_a_source_below_the_newest_schema_is_refused_and_left_as_it_is(
    source: Settings, pg_url: str
) -> None:
    on_engine(source, lambda engine: _downgrade_one(engine))
    path = source.home / "medkb.db"
    before, revision = file_state(path), revision_of(source)
    with pytest.raises(InputError, match=r"revision.*run any medkb command on it first"):
        migrate(source, target_url=pg_url)
    assert file_state(path) == before and revision_of(source) == revision
    target = make_engine(pg_url)
    try:
        assert sa.inspect(target).get_table_names() == []  # nothing written there either
    finally:
        target.dispose()


def on_engine(settings: Settings, action: Callable[[sa.Engine], object]) -> object:
    engine = make_engine(settings.resolved_database_url())
    try:
        return action(engine)
    finally:
        engine.dispose()


def revision_of(settings: Settings) -> str | None:
    engine = sa.create_engine(f"sqlite:///file:{settings.home / 'medkb.db'}?mode=ro&uri=true")
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def _downgrade_one(engine: sa.Engine) -> None:
    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "-1")


def test_a_postgresql_source_is_read_in_read_only_transactions(
    source: Settings, pg_url: str
) -> None:
    from tests.services import fresh_postgres_database

    assert migrate(source, target_url=pg_url).ok  # a PostgreSQL knowledge base to move on
    on_postgres = source.model_copy(update={"database_url": pg_url})
    for settings in (source, on_postgres):
        engine = open_source(settings)
        try:
            with (
                pytest.raises(sa.exc.DBAPIError, match=r"(?i)read-?only"),
                engine.begin() as conn,
            ):
                conn.exec_driver_sql("CREATE TABLE guard (id int)")
        finally:
            engine.dispose()
    target = fresh_postgres_database()
    try:
        second = next(target)
        report = migrate(on_postgres, target_url=second, batch_size=16)
        assert report.ok and digests(second) == digests(pg_url)
        assert report_digests(report) == digests(pg_url)
    finally:
        target.close()
