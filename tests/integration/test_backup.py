"""``medkb backup`` → wipe → ``medkb restore`` gives back the same knowledge base, verified.

Real stores throughout: SQLite files and the machine's PostgreSQL (``database_url``), the
local vector index, object files on disk. Broken backups (a flipped byte, a missing file,
no manifest, a newer schema) are refused before the target is touched.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.backup.manifest import MANIFEST, backup_name, is_backup_name
from medkb.backup.restore import restore
from medkb.backup.snapshot import backup
from medkb.backup.tables import tables_in_fk_order
from medkb.config import Settings
from medkb.demo import demo_files
from medkb.errors import InputError, InvalidBackup, VectorStoreError
from medkb.models import QAMetadata, QAPair
from medkb.stores.relational.engine import make_engine, upgrade
from medkb.sync.apply import utcnow
from medkb.sync.verify import vector_checksums, verify

#: Tables a restore's own reconciliation may legitimately write to.
SYNC_TABLES = {"sync_status", "outbox"}


def fill(kb: KnowledgeBase) -> None:
    """Pairs from every demo file (PDF and DOCX bring object files), queries and feedback."""
    kb.ingest(demo_files())
    result = kb.query("What are the symptoms of high blood pressure?")
    kb.feedback(result.query_log_id, rating=5, comment="clear")
    kb.query("How is diabetes treated?", session_id="s1")


def utc(value: Any) -> Any:
    """Timestamps as aware UTC: SQLite gives naive UTC ones, PostgreSQL aware ones."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def table_rows(engine: sa.Engine, *, skip: set[str] = SYNC_TABLES) -> dict[str, list[Any]]:
    """Every row of every medkb table, in primary-key order."""
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(utc(value) for value in row)
                for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))
            ]
            for table in tables_in_fk_order()
            if table.name not in skip
        }


def target_settings(settings: Settings, tmp_path: Path, database_url: str | None) -> Settings:
    return settings.model_copy(update={"home": tmp_path / "restored", "database_url": database_url})


def restored_url(settings: Settings, pg_url_factory: Any) -> str | None:
    """An empty target database of the same kind as the source."""
    return None if settings.resolved_database_url().startswith("sqlite") else pg_url_factory()


@pytest.fixture
def filled(kb: KnowledgeBase) -> KnowledgeBase:
    fill(kb)
    return kb


@pytest.fixture
def other_database(request: pytest.FixtureRequest) -> Any:
    """A factory of fresh PostgreSQL databases, dropped after the test."""
    from tests.services import fresh_postgres_database

    made = []

    def make() -> str:
        generator = fresh_postgres_database()
        made.append(generator)
        return next(generator)

    yield make
    for generator in made:
        generator.close()


def test_backup_wipe_restore_gives_identical_data_and_zero_drift(
    filled: KnowledgeBase, settings: Settings, tmp_path: Path, other_database: Any
) -> None:
    report = backup(settings, str(tmp_path / "backups"))
    assert is_backup_name(report.name) and (Path(report.location) / MANIFEST).is_file()
    manifest = report.manifest
    assert manifest.relational["tables"]["medical_qa_metadata"] > 10
    assert manifest.relational["tables"]["query_logs"] == 2
    assert manifest.vectors["records"] == manifest.relational["tables"]["medical_qa_metadata"]
    assert manifest.objects["files"] >= 2 and manifest.embedding_dimension == 256
    native = "sqlite-file" if manifest.relational["dialect"] == "sqlite" else "pg_dump"
    assert manifest.relational["kind"] == native

    target = target_settings(settings, tmp_path, restored_url(settings, other_database))
    migrated = make_engine(target.resolved_database_url())
    upgrade(migrated)  # tables without rows count as empty
    migrated.dispose()
    done = restore(target, report.location)
    assert done.clean and done.method == "load" and done.vectors_reapplied == 0
    assert done.replaced.empty
    with build(target) as restored:
        assert table_rows(restored.engine) == table_rows(filled.engine)
        assert vector_checksums(restored.store, tenant_id="default") == vector_checksums(
            filled.store, tenant_id="default"
        )
        assert verify(restored.engine, restored.store, tenant_id="default").clean
        assert restored.query("blood pressure symptoms").hits
    source_objects = sorted(
        p.relative_to(settings.home) for p in settings.home.glob("objects/**/*")
    )
    copied = sorted(p.relative_to(target.home) for p in target.home.glob("objects/**/*"))
    assert copied == source_objects


def test_logical_dump_restores_and_rebuild_method_gives_the_same_vectors(
    filled: KnowledgeBase, settings: Settings, tmp_path: Path, other_database: Any
) -> None:
    report = backup(settings, str(tmp_path / "backups"), logical=True)
    assert report.manifest.relational["kind"] == "jsonl"
    target = target_settings(settings, tmp_path, restored_url(settings, other_database))
    done = restore(target, report.location, method="rebuild")
    assert done.clean and done.vectors_loaded == 0 and done.vectors_rebuilt > 10
    with build(target) as restored:
        assert table_rows(restored.engine) == table_rows(filled.engine)
        assert vector_checksums(restored.store, tenant_id="default") == vector_checksums(
            filled.store, tenant_id="default"
        )


def corrupt_one_file(folder: Path) -> str:
    """Flip one byte of the largest vector file; return its name."""
    path = folder / "vectors" / "combined.f32"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return "vectors/combined.f32"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_corrupt_partial_and_incompatible_backups_are_refused_and_target_untouched(
    filled: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    location = Path(backup(settings, str(tmp_path / "backups")).location)
    target = target_settings(settings, tmp_path, None)

    def refused(folder: Path, *words: str) -> None:
        with pytest.raises(InvalidBackup) as caught:
            restore(target, str(folder))
        for word in words:
            assert word in str(caught.value)
        assert not target.home.exists()  # nothing touched, not even created

    broken = tmp_path / "broken"
    shutil.copytree(location, broken)
    name = corrupt_one_file(broken)
    refused(broken, name, "SHA-256", "nothing was restored")

    shutil.rmtree(broken)
    shutil.copytree(location, broken)
    (broken / "relational" / "medkb.sqlite3").unlink()
    refused(broken, "relational/medkb.sqlite3 is missing")

    with (location / "relational" / "medkb.sqlite3").open("ab") as grown:  # resized
        grown.write(b"x")
    refused(location, "bytes, the manifest says")

    (broken / MANIFEST).unlink()
    refused(broken, "partial")
    refused(tmp_path / "backups", "holds backups rather than being one")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_newer_schema_or_format_is_refused(
    filled: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    location = Path(backup(settings, str(tmp_path / "backups")).location)
    target = target_settings(settings, tmp_path, None)
    manifest = json.loads((location / MANIFEST).read_text())
    for change, word in (
        ({"schema_revision": "9999_future"}, "Upgrade medkb"),
        ({"format_version": 2}, "format version 2"),
    ):
        (location / MANIFEST).write_text(json.dumps({**manifest, **change}))
        with pytest.raises(InvalidBackup, match=word):
            restore(target, str(location))
    assert not target.home.exists()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_non_empty_target_is_refused_unless_force(
    filled: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    location = backup(settings, str(tmp_path / "backups")).location
    filled.delete(filled.query("flu vaccine").hits[0].pair.id)
    before = table_rows(filled.engine)
    with pytest.raises(InputError, match=r"not empty.*medical_qa_metadata.*--force"):
        restore(settings, location)
    assert table_rows(filled.engine) == before
    filled.close()
    done = restore(settings, location, force=True)
    assert done.clean and "medical_qa_metadata" in done.replaced.describe()
    with build(settings) as restored:
        pairs = table_rows(restored.engine)["medical_qa_metadata"]
        assert len(pairs) == len(before["medical_qa_metadata"]) + 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_keep_removes_only_the_oldest_complete_backups(
    filled: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    (folder / "notes").mkdir(parents=True)  # not a backup: never removed
    partial = backup_name(utcnow().replace(year=2001))
    (folder / partial).mkdir()  # no manifest: never removed
    names = [backup(settings, str(folder), keep=2).name for _ in range(4)]
    assert sorted(names) == names
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == sorted(["notes", partial, *names[-2:]])
    with pytest.raises(InputError, match="--keep 0"):
        backup(settings, str(folder), keep=0)


def writer_pairs(start: int, count: int) -> list[QAPair]:
    return [
        QAPair(
            id=f"writer-{i}",
            question=f"What helps with condition number {i}?",
            response=f"Rest, fluids and follow-up number {i} with your doctor.",
            metadata=QAMetadata(category="General"),
        )
        for i in range(start, start + count)
    ]


def test_backup_while_a_writer_adds_pairs_restores_verify_clean(
    filled: KnowledgeBase, settings: Settings, tmp_path: Path, other_database: Any
) -> None:
    stop, written = threading.Event(), [0]

    def write() -> None:
        while not stop.is_set():
            filled.add(writer_pairs(written[0], 3))
            written[0] += 3

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while written[0] < 6:  # the writer is under way before the backup starts
            time.sleep(0.01)
        report = backup(settings, str(tmp_path / "backups"))
        during = written[0]
    finally:
        stop.set()
        writer.join()
    assert written[0] > 6
    target = target_settings(settings, tmp_path, restored_url(settings, other_database))
    done = restore(target, report.location)
    assert done.clean
    with build(target) as restored:
        ids = {row[0] for row in table_rows(restored.engine)["medical_qa_metadata"]}
        assert len(ids) == report.manifest.relational["tables"]["medical_qa_metadata"]
        assert restored.store.count() == len(ids)
        writers = sorted(int(i.split("-")[1]) for i in ids if i.startswith("writer-"))
        assert writers == list(range(len(writers)))  # a prefix of what was written: no holes
        assert 6 <= len(writers) <= during + 3


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_logical_sqlite_backup_restores_into_postgresql_and_a_file_copy_is_refused(
    filled: KnowledgeBase, settings: Settings, tmp_path: Path, other_database: Any
) -> None:
    native = backup(settings, str(tmp_path / "backups"))
    target = target_settings(settings, tmp_path, other_database())
    with pytest.raises(InvalidBackup, match="--logical"):
        restore(target, native.location)
    assert not target.home.exists()

    logical = backup(settings, str(tmp_path / "backups"), logical=True)
    assert restore(target, logical.location).clean
    with build(target) as restored:
        assert table_rows(restored.engine) == table_rows(filled.engine)
        assert restored.query("blood pressure symptoms", mode="keyword").hits  # tsvector built


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_backup_that_fails_half_way_leaves_nothing_behind(
    filled: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    backup(settings, str(folder))
    filled.store.close()  # the vector export fails after the relational snapshot is written
    with pytest.raises(VectorStoreError):
        backup(settings, str(folder), store=filled.store, keep=1)
    assert len(list(folder.iterdir())) == 1  # no staging folder, the older backup kept
