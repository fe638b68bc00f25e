"""``medkb restore --force`` must not destroy the target before the restore can fail.

A knowledge base with data is restored over with a backup that fails part-way — its row
counts do not match the manifest (the relational step), its vector file cannot be loaded
although it passes its checksum (the vectors step), or the restoring process is killed with
SIGKILL while it copies the object files — and the target must keep the same rows, the
same vectors and the same object files, and verify clean. Real stores: SQLite files and
the machine's PostgreSQL (``database_url``), the local vector index, object files on disk.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.backup.manifest import MANIFEST, sha256_file
from medkb.backup.restore import restore
from medkb.backup.snapshot import backup
from medkb.config import Settings
from medkb.errors import InvalidBackup
from medkb.models import QAMetadata, QAPair
from medkb.sync.verify import vector_checksums, verify
from tests.integration.test_backup import fill, table_rows

EXTRA = QAPair(
    id="after-the-backup",
    question="What does a written after the backup pair ask?",
    response="Whether a failed restore keeps it.",
    metadata=QAMetadata(category="General"),
)


def files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (SQLite's transient -wal/-shm aside), with its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.endswith(("-wal", "-shm"))
    }


def state(settings: Settings) -> dict[str, Any]:
    """Rows of every table, the vectors, and the object files of the KB; it must verify clean."""
    with build(settings) as kb:
        report = verify(kb.engine, kb.store, tenant_id=kb.tenant_id)
        assert report.clean, report.to_dict()
        return {
            "rows": table_rows(kb.engine, skip=set()),
            "vectors": vector_checksums(kb.store, tenant_id=kb.tenant_id),
            "objects": files(settings.resolved_object_dir()),
        }


def staged_leftovers(settings: Settings) -> list[str]:
    """Paths and PostgreSQL schemas a restore staged and did not remove."""
    found = [p.name for p in settings.home.rglob("*") if ".restore-" in p.name]
    url = settings.resolved_database_url()
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            query = "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, 'medkb_')"
            found += list(conn.exec_driver_sql(query).scalars())
        engine.dispose()
    return found


@pytest.fixture
def changed_since_backup(kb: KnowledgeBase, settings: Settings, tmp_path: Path) -> Path:
    """A KB with data, backed up, then changed (a pair deleted, one added); the backup."""
    fill(kb)
    location = Path(backup(settings, str(tmp_path / "backups")).location)
    kb.delete(kb.query("flu vaccine").hits[0].pair.id)
    kb.add([EXTRA])
    kb.close()
    return location


def rewrite_manifest(folder: Path, change: Any) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    change(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest))


def wrong_row_count(folder: Path) -> None:
    """The relational load succeeds, the row-count check against the manifest fails."""

    def change(manifest: dict[str, Any]) -> None:
        manifest["relational"]["tables"]["medical_qa_metadata"] += 1

    rewrite_manifest(folder, change)


def unloadable_vectors(folder: Path) -> None:
    """A vector file one float short, listed with its real size and SHA-256."""
    path = folder / "vectors" / "combined.f32"
    path.write_bytes(path.read_bytes()[:-4])

    def change(manifest: dict[str, Any]) -> None:
        entry = manifest["files"]["vectors/combined.f32"]
        entry["size"], entry["sha256"] = path.stat().st_size, sha256_file(path)

    rewrite_manifest(folder, change)


@pytest.mark.parametrize(
    ("damage", "error"),
    [(wrong_row_count, "does not match the manifest"), (unloadable_vectors, "inconsistent")],
)
def test_a_force_restore_that_fails_part_way_leaves_the_target_unchanged(
    changed_since_backup: Path, settings: Settings, damage: Any, error: str
) -> None:
    before, home = state(settings), files(settings.home)
    assert any(row[0] == EXTRA.id for row in before["rows"]["medical_qa_metadata"])
    damage(changed_since_backup)
    with pytest.raises(InvalidBackup, match=error):
        restore(settings, str(changed_since_backup), force=True)
    assert state(settings) == before
    assert files(settings.home) == home  # nothing staged is left behind either
    assert staged_leftovers(settings) == []


KILLER = """
import os, shutil, signal, sys
from pathlib import Path
from medkb.backup.restore import restore
from medkb.config import Settings
home, cache, url, source = sys.argv[1:5]
real = shutil.copyfile
def copyfile(src, dst, *args, **kwargs):
    done = real(src, dst, *args, **kwargs)
    if f"{os.sep}objects{os.sep}" in str(src):  # the first object file copied: die mid-copy
        os.kill(os.getpid(), signal.SIGKILL)
    return done
shutil.copyfile = copyfile
settings = Settings(home=Path(home), embedder="static", cache_dir=Path(cache), database_url=url)
restore(settings, source, force=True)
"""


def test_a_force_restore_killed_while_copying_objects_leaves_the_target_unchanged(
    changed_since_backup: Path, settings: Settings
) -> None:
    before = state(settings)
    args = [str(settings.home), str(settings.cache_dir), settings.resolved_database_url()]
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, *args, str(changed_since_backup)], capture_output=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    assert state(settings) == before
    assert staged_leftovers(settings)  # it did get as far as staging

    done = restore(settings, str(changed_since_backup), force=True)  # a re-run completes
    assert done.clean and staged_leftovers(settings) == []
    after = state(settings)
    assert not any(row[0] == EXTRA.id for row in after["rows"]["medical_qa_metadata"])
    assert after["objects"] == files(changed_since_backup / "objects")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_force_restore_never_removes_files_medkb_did_not_create(
    settings: Settings, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"  # the user's own folder, used as the object directory
    docs.mkdir()
    (docs / "notes.txt").write_text("mine, kept in the backup")
    settings = settings.model_copy(update={"object_url": str(docs)})
    with build(settings) as kb:
        fill(kb)
    location = backup(settings, str(tmp_path / "backups")).location
    (settings.home / "notes.txt").write_text("mine, written after the backup")
    (docs / "later.txt").write_text("mine, written after the backup")
    with build(settings) as kb:  # a file ingested after the backup: medkb's own object
        kb.ingest([_write_faq(tmp_path / "later.md")])
    medkb_files = {key for key in files(docs) if key.startswith("raw/")}

    done = restore(settings, location, force=True)
    assert done.clean
    assert (settings.home / "notes.txt").read_text() == "mine, written after the backup"
    assert (docs / "later.txt").read_text() == "mine, written after the backup"
    assert (docs / "notes.txt").read_text() == "mine, kept in the backup"
    restored = {key for key in files(docs) if key.startswith("raw/")}
    assert restored < medkb_files  # the later file's object went with the replaced KB
    assert staged_leftovers(settings) == []


def _write_faq(path: Path) -> Path:
    path.write_text("# Later\n\n## What is a later question?\n\nA later answer about care.\n")
    return path
