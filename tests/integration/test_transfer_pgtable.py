"""``--format sql`` straight into PostgreSQL: pgvector columns when the extension exists,
``real[]`` when it does not; batched upserts that a re-run updates instead of duplicating."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.errors import InputError
from medkb.stores.relational import pairs as pair_rows
from medkb.transfer.export import export_to
from tests.integration.test_transfer_formats import sample_pairs

pytestmark = pytest.mark.postgres


@pytest.fixture
def sqlite_kb(tmp_path: Path, embed_cache: Path) -> Iterator[KnowledgeBase]:
    settings = Settings(home=tmp_path / "home", embedder="static", cache_dir=embed_cache)
    with build(settings) as kb:
        kb.add(sample_pairs())
        yield kb


def export_table(kb: KnowledgeBase, url: str, table: str, *, embeddings: bool = True) -> object:
    return export_to(
        kb.engine,
        "sql",
        url,
        tenant_id=kb.tenant_id,
        include_embeddings=embeddings,
        table=table,
        dimension=kb.embedder.dimension,
    )


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def test_plain_postgres_gets_real_arrays_and_reruns_upsert(
    sqlite_kb: KnowledgeBase, pg_url: str
) -> None:
    report = export_table(sqlite_kb, pg_url, "kb_rows")
    assert report.pairs == 12 and report.vector_type == "real[]"  # type: ignore[attr-defined]
    with sqlite_kb.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE medical_qa_metadata SET category = 'Changed' WHERE id = 'qa-001'")
        )
    export_table(sqlite_kb, pg_url, "kb_rows")
    engine = _engine(pg_url)
    with engine.connect() as conn:
        rows = {row.id: row for row in conn.execute(sa.text("SELECT * FROM kb_rows"))}
        kind = conn.execute(
            sa.text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'kb_rows'::regclass AND attname = 'combined_embedding'"
            )
        ).scalar()
    engine.dispose()
    assert len(rows) == 12 and kind == "real[]"
    row = rows["qa-001"]
    assert row.category == "Changed" and row.tags == ["asthma", "t1"]
    assert row.sources[0]["page"] == 1 and row.extra == {"focus": "Asthma", "rank": 1}
    assert row.related_nodes == list(dict.fromkeys(r["target_id"] for r in row.relations))
    with sqlite_kb.engine.connect() as conn:
        stored = pair_rows.get_embeddings(conn, ["qa-001"])["qa-001"]
    assert np.array_equal(np.float32(row.combined_embedding), stored.combined)
    assert row.embedding_model == sqlite_kb.embedder.model_id


@pytest.mark.pgvector
def test_pgvector_gets_vector_columns(sqlite_kb: KnowledgeBase, pgvector_url: str) -> None:
    table = f"kb_{uuid.uuid4().hex[:8]}"
    report = export_table(sqlite_kb, pgvector_url, table)
    assert report.vector_type == "vector(256)"  # type: ignore[attr-defined]
    export_table(sqlite_kb, pgvector_url, table)  # idempotent
    engine = _engine(pgvector_url)
    try:
        with engine.connect() as conn:
            count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
            dims = conn.execute(
                sa.text(f"SELECT vector_dims(question_embedding) FROM {table} LIMIT 1")
            ).scalar()
            text = conn.execute(
                sa.text(f"SELECT response_embedding::text FROM {table} WHERE id = 'qa-002'")
            ).scalar()
            nearest = conn.execute(
                sa.text(
                    f"SELECT b.id FROM {table} a, {table} b WHERE a.id = 'qa-003' "
                    "ORDER BY a.combined_embedding <=> b.combined_embedding LIMIT 1"
                )
            ).scalar()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
    with sqlite_kb.engine.connect() as conn:
        stored = pair_rows.get_embeddings(conn, ["qa-002"])["qa-002"]
    assert (count, dims, nearest) == (12, 256, "qa-003")
    assert np.array_equal(
        np.float32([float(x) for x in text.strip("[]").split(",")]), stored.response
    )


@pytest.mark.pgvector
def test_without_embeddings_and_a_mismatched_table(
    sqlite_kb: KnowledgeBase, pgvector_url: str
) -> None:
    table = f"kb_{uuid.uuid4().hex[:8]}"
    engine = _engine(pgvector_url)
    try:
        report = export_table(sqlite_kb, pgvector_url, table, embeddings=False)
        assert report.vector_type is None  # type: ignore[attr-defined]
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
            conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN question_embedding vector(3)"))
        with pytest.raises(InputError, match=r"vector\(3\) embedding columns.*256"):
            export_table(sqlite_kb, pgvector_url, table)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


def test_unreachable_postgres_is_a_clear_error(sqlite_kb: KnowledgeBase) -> None:
    from medkb.errors import RelationalStoreError
    from tests.fixtures_servers import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(RelationalStoreError, match="Cannot reach the PostgreSQL database"):
        export_table(sqlite_kb, url, "kb_rows")
