"""The Alembic migrations build exactly the declared schema on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from medkb.stores.relational.engine import current_revision, head_revision, make_engine, upgrade
from medkb.stores.relational.schema import metadata

SPEC_TABLES = {
    "medical_qa_metadata",
    "medical_qa_relations",
    "query_logs",
    "document_sources",
    "analytics",
    "sync_status",
}


def test_migrations_match_the_schema_and_are_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        upgrade(engine)  # a second run is a no-op, not an error
        assert current_revision(engine) == head_revision()
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names()) >= SPEC_TABLES | {"outbox", "qa_embeddings"}
        assert set(inspector.get_view_names()) >= {"qa_with_stats", "popular_qa"}
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        # Only objects outside the declared metadata may differ: the FTS tables on SQLite,
        # the generated tsvector column and its indexes on PostgreSQL.
        unexpected = [d for d in diff if not _keyword_index_object(d)]
        assert unexpected == []
    finally:
        engine.dispose()


def _keyword_index_object(diff: object) -> bool:
    text = repr(diff)
    return any(name in text for name in ("qa_fts", "search_vector", "ix_qa_active"))


def test_cascading_deletes_remove_dependent_rows(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        foreign_keys = sa.inspect(engine).get_foreign_keys("document_sources")
        assert foreign_keys[0]["options"].get("ondelete") == "CASCADE"
    finally:
        engine.dispose()
