"""``medkb migrate``: SQLite → the machine's PostgreSQL, and → PostgreSQL + pgvector.

Real databases only: a SQLite file in ``tmp_path``, a fresh database on the PostgreSQL
service, and one on the pgvector server of ``tests/fixtures_servers.py``. The interruption
test kills a migrating child process with SIGKILL and runs the migration again.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from medkb.app import build
from medkb.config import Settings
from medkb.demo import demo_files
from medkb.errors import InputError, NotFound, RelationalStoreError
from medkb.relocate.checksums import table_digest
from medkb.relocate.migrate import migrate
from medkb.relocate.table_copy import PROGRESS_TABLE
from medkb.stores.relational.engine import make_engine
from medkb.stores.relational.schema import metadata
from medkb.sync.verify import verify
from tests.e2e.test_cli import medkb
from tests.fixtures_servers import free_port

pytestmark = pytest.mark.postgres

QUESTIONS = ("What are the symptoms of hypertension?", "How is type 2 diabetes treated?")


@pytest.fixture
def source(tmp_path: Path, embed_cache: Path) -> Settings:
    """A SQLite knowledge base with the demo data, logged queries and feedback."""
    settings = Settings(home=tmp_path / "home", embedder="static", cache_dir=embed_cache)
    with build(settings) as kb:
        kb.ingest(demo_files())
        logged = kb.query(QUESTIONS[0])
        assert logged.query_log_id is not None
        kb.feedback(logged.query_log_id, rating=5, comment="clear")
        kb.query(QUESTIONS[1])
    return settings


def hits(settings: Settings) -> dict[str, list[tuple[str, float]]]:
    """The dense hits each question gets (not logged, so the KB is not changed).

    Dense, because keyword ranking is the backend's own (FTS5 bm25 vs ``ts_rank_cd``).
    """
    with build(settings) as kb:
        return {
            q: [(h.pair.id, round(h.score, 4)) for h in kb.query(q, mode="dense", log=False).hits]
            for q in QUESTIONS
        }


def digests(url: str) -> dict[str, tuple[int, str]]:
    """(rows, checksum) of every schema table."""
    engine = make_engine(url)
    try:
        present = set(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            found = {
                t.name: table_digest(conn, t) for t in metadata.sorted_tables if t.name in present
            }
    finally:
        engine.dispose()
    return {name: (d.rows, d.checksum) for name, d in found.items()}


def has_progress(url: str) -> bool:
    """Whether an unfinished migration's bookkeeping table is in ``url``."""
    engine = make_engine(url)
    try:
        return sa.inspect(engine).has_table(PROGRESS_TABLE)
    finally:
        engine.dispose()


def moved(source: Settings, report_settings: dict[str, str]) -> Settings:
    return source.model_copy(
        update={
            "database_url": report_settings["MEDKB_DATABASE_URL"],
            "vector_url": report_settings["MEDKB_VECTOR_URL"],
        }
    )


def assert_clean(settings: Settings) -> None:
    with build(settings) as kb:
        assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean


def test_sqlite_to_postgresql_keeps_every_row_and_the_local_vectors(
    source: Settings, pg_url: str
) -> None:
    before, tables = hits(source), digests(source.resolved_database_url())
    report = migrate(source, target_url=pg_url, batch_size=16)
    assert report.ok and all(t.match and (t.rows == 0) == t.skipped for t in report.tables)
    assert report.vectors is not None and report.vectors.action == "kept"
    assert report.settings() == {"MEDKB_DATABASE_URL": pg_url, "MEDKB_VECTOR_URL": "local"}
    assert digests(pg_url) == tables
    assert tables["medical_qa_relations"][0] > 0 and tables["query_log_hits"][0] > 0
    again = migrate(source, target_url=pg_url)  # a re-run finds everything in place
    assert again.ok and all(t.skipped and t.copied == 0 for t in again.tables)
    target = moved(source, report.settings())
    assert hits(target) == before
    assert_clean(target)
    with build(target) as kb:  # serial ids continue after the copied ones
        kb.query(QUESTIONS[1])
        assert kb.stats()["queries"] == 3
    with pytest.raises(InputError, match="different knowledge base"):
        migrate(source, target_url=pg_url)  # the target has moved on: never overwritten


def test_sqlite_to_pgvector_rebuilds_the_vectors_from_the_stored_embeddings(
    source: Settings, pgvector_db: str
) -> None:
    before = hits(source)
    report = migrate(source, target_url=pgvector_db, vector_url="pgvector", batch_size=50)
    assert report.ok and report.vectors is not None
    assert (report.vectors.action, report.vectors.records) == ("rebuilt", 69)
    target = moved(source, report.settings())
    assert target.resolved_vector_url() == "pgvector"
    assert hits(target) == before
    assert_clean(target)


KILLER = """
import os, signal, sys
from pathlib import Path
from medkb.config import Settings
from medkb.relocate.migrate import migrate
home, cache, url, after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
batches = 0
def on_batch(table, copied, total):
    global batches
    batches += 1
    if batches == after:
        os.kill(os.getpid(), signal.SIGKILL)
migrate(Settings(home=Path(home), embedder="static", cache_dir=Path(cache)),
        target_url=url, batch_size=7, on_batch=on_batch)
"""


@pytest.mark.parametrize("after", [3, 25])
def test_a_migration_killed_mid_copy_resumes_without_duplicates(
    source: Settings, pg_url: str, after: int
) -> None:
    args = [str(source.home), str(source.cache_dir), pg_url, str(after)]
    killed = subprocess.run([sys.executable, "-c", KILLER, *args], capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    expected = digests(source.resolved_database_url())
    partial = digests(pg_url)
    assert sum(rows for rows, _ in partial.values()) < sum(r for r, _ in expected.values())
    assert has_progress(pg_url)

    report = migrate(source, target_url=pg_url, batch_size=7)
    assert report.ok
    assert digests(pg_url) == expected  # same counts, same checksums: nothing twice
    assert not has_progress(pg_url)
    assert_clean(moved(source, report.settings()))


def test_bad_or_unreachable_targets_are_refused_and_the_source_is_untouched(
    source: Settings,
) -> None:
    before = digests(source.resolved_database_url())
    with pytest.raises(InputError, match="not a PostgreSQL URL"):
        migrate(source, target_url="mysql://root@127.0.0.1/medkb")
    on_postgres = source.model_copy(update={"database_url": "postgresql://pg@127.0.0.1/kb"})
    with pytest.raises(InputError, match="own database"):
        migrate(on_postgres, target_url="postgresql://pg@127.0.0.1/kb")
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/medkb"
    with pytest.raises(RelationalStoreError, match=r"Cannot connect to the target.*untouched"):
        migrate(source, target_url=down)
    with pytest.raises(RelationalStoreError, match="Cannot connect"):
        migrate(source, target_url="postgresql://postgres@127.0.0.1:5432/no_such_medkb_db")
    assert digests(source.resolved_database_url()) == before
    with pytest.raises(NotFound, match="nothing to migrate"):
        migrate(source.model_copy(update={"home": source.home / "nope"}), target_url=down)


def test_a_target_holding_another_knowledge_base_is_refused(
    source: Settings, pg_url: str, tmp_path: Path
) -> None:
    other = source.model_copy(update={"home": tmp_path / "other", "database_url": pg_url})
    with build(other) as kb:
        kb.ingest([next(iter(demo_files()))])
    before = digests(pg_url)
    with pytest.raises(InputError, match="different knowledge base"):
        migrate(source, target_url=pg_url)
    assert digests(pg_url) == before


def test_the_cli_prints_the_report_and_the_settings(
    source: Settings, pg_url: str, embed_cache: Path
) -> None:
    done = medkb(source.home, embed_cache, "migrate", "--to", pg_url, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["settings"]["MEDKB_DATABASE_URL"] == pg_url
    assert {t["table"] for t in report["tables"]} >= {"medical_qa_metadata", "qa_embeddings"}
    text = medkb(source.home, embed_cache, "migrate", "--to", pg_url)
    assert text.returncode == 0, text.stderr
    assert f"export MEDKB_DATABASE_URL='{pg_url}'" in text.stdout
    bad = medkb(source.home, embed_cache, "migrate", "--to", "sqlite:///elsewhere.db")
    assert bad.returncode == InputError.exit_code and "PostgreSQL URL" in bad.stderr
