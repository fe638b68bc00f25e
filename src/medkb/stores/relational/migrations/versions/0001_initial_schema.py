"""Initial schema: SPEC §A tables, keyword search index and the two views.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 04:12:58.132553
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("query_count", sa.Integer(), nullable=False),
        sa.Column("total_response_time_ms", sa.Float(), nullable=False),
        sa.Column("avg_response_time_ms", sa.Float(), nullable=False),
        sa.Column("ingested_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("deleted_count", sa.Integer(), nullable=False),
        sa.Column("feedback_count", sa.Integer(), nullable=False),
        sa.Column("feedback_sum", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "date"),
    )
    op.create_table(
        "kb_info",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("qa_id", sa.String(length=128), nullable=False),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_available", ["available_at", "id"], unique=False)

    op.create_table(
        "query_logs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=True),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("response_time_ms", sa.Float(), nullable=False),
        sa.Column(
            "similarity_scores",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "timings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("user_feedback", sa.Integer(), nullable=True),
        sa.Column("feedback_comment", sa.Text(), nullable=True),
        sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("query_logs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_query_logs_tenant_created", ["tenant_id", "created_at"], unique=False
        )

    op.create_table(
        "sync_status",
        sa.Column("qa_id", sa.String(length=128), nullable=False),
        sa.Column("store", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("qa_id", "store"),
    )
    with op.batch_alter_table("sync_status", schema=None) as batch_op:
        batch_op.create_index("ix_sync_status_state", ["store", "state"], unique=False)

    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "medical_qa_metadata",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("subcategory", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("source_type", sa.Text(), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("publication_date", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("difficulty_level", sa.Text(), nullable=True),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("medical_qa_metadata", schema=None) as batch_op:
        batch_op.create_index("ix_qa_tenant_category", ["tenant_id", "category"], unique=False)
        batch_op.create_index("ix_qa_tenant_source", ["tenant_id", "source"], unique=False)
        batch_op.create_index("ix_qa_tenant_updated", ["tenant_id", "updated_at"], unique=False)

    op.create_table(
        "document_sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("qa_id", sa.String(length=128), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=True),
        sa.Column("page_number", sa.Integer(), nullable=True),
        sa.Column("section", sa.Text(), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["qa_id"], ["medical_qa_metadata.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("document_sources", schema=None) as batch_op:
        batch_op.create_index("ix_sources_qa", ["qa_id"], unique=False)

    op.create_table(
        "medical_qa_relations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("relation_type", sa.String(length=32), nullable=False),
        sa.Column("confidence_score", sa.Float(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["medical_qa_metadata.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_id"], ["medical_qa_metadata.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "target_id", "relation_type", name="uq_relation"),
    )
    with op.batch_alter_table("medical_qa_relations", schema=None) as batch_op:
        batch_op.create_index("ix_relations_target", ["target_id"], unique=False)

    op.create_table(
        "qa_embeddings",
        sa.Column("qa_id", sa.String(length=128), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("model_id", sa.Text(), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["qa_id"], ["medical_qa_metadata.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("qa_id", "field"),
    )
    op.create_table(
        "query_log_hits",
        sa.Column("query_log_id", sa.Integer(), nullable=False),
        sa.Column("qa_id", sa.String(length=128), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["qa_id"], ["medical_qa_metadata.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["query_log_id"], ["query_logs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("query_log_id", "qa_id"),
    )
    with op.batch_alter_table("query_log_hits", schema=None) as batch_op:
        batch_op.create_index("ix_query_log_hits_qa", ["qa_id"], unique=False)

    _create_keyword_index()
    _create_views()


def downgrade() -> None:
    _drop_views()
    _drop_keyword_index()
    with op.batch_alter_table("query_log_hits", schema=None) as batch_op:
        batch_op.drop_index("ix_query_log_hits_qa")

    op.drop_table("query_log_hits")
    op.drop_table("qa_embeddings")
    with op.batch_alter_table("medical_qa_relations", schema=None) as batch_op:
        batch_op.drop_index("ix_relations_target")

    op.drop_table("medical_qa_relations")
    with op.batch_alter_table("document_sources", schema=None) as batch_op:
        batch_op.drop_index("ix_sources_qa")

    op.drop_table("document_sources")
    with op.batch_alter_table("medical_qa_metadata", schema=None) as batch_op:
        batch_op.drop_index("ix_qa_tenant_updated")
        batch_op.drop_index("ix_qa_tenant_source")
        batch_op.drop_index("ix_qa_tenant_category")

    op.drop_table("medical_qa_metadata")
    op.drop_table("tenants")
    with op.batch_alter_table("sync_status", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_status_state")

    op.drop_table("sync_status")
    with op.batch_alter_table("query_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_query_logs_tenant_created")

    op.drop_table("query_logs")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_available")

    op.drop_table("outbox")
    op.drop_table("kb_info")
    op.drop_table("analytics")


# Keyword search: FTS5 on SQLite (a table of its own keyed by qa_id, kept by triggers, so a
# VACUUM that renumbers rowids cannot desynchronise it); a generated tsvector on PostgreSQL.
_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE qa_fts USING fts5("
    "qa_id UNINDEXED, question, response, tokenize='porter unicode61')",
    "CREATE TRIGGER qa_fts_insert AFTER INSERT ON medical_qa_metadata BEGIN "
    "INSERT INTO qa_fts(qa_id, question, response) VALUES (new.id, new.question, new.response); "
    "END",
    "CREATE TRIGGER qa_fts_delete AFTER DELETE ON medical_qa_metadata BEGIN "
    "DELETE FROM qa_fts WHERE qa_id = old.id; END",
    "CREATE TRIGGER qa_fts_update AFTER UPDATE OF question, response ON medical_qa_metadata "
    "BEGIN DELETE FROM qa_fts WHERE qa_id = old.id; "
    "INSERT INTO qa_fts(qa_id, question, response) VALUES (new.id, new.question, new.response); "
    "END",
]
_POSTGRES_FTS = [
    "ALTER TABLE medical_qa_metadata ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', question), 'A') || "
    "setweight(to_tsvector('english', response), 'B')) STORED",
    "CREATE INDEX ix_qa_search_vector ON medical_qa_metadata USING gin (search_vector)",
    "CREATE INDEX ix_qa_active ON medical_qa_metadata (tenant_id) WHERE is_active",
]


def _create_keyword_index() -> None:
    statements = _POSTGRES_FTS if op.get_bind().dialect.name == "postgresql" else _SQLITE_FTS
    for statement in statements:
        op.execute(statement)


def _drop_keyword_index() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_qa_active")
        op.execute("DROP INDEX IF EXISTS ix_qa_search_vector")
        op.execute("ALTER TABLE medical_qa_metadata DROP COLUMN IF EXISTS search_vector")
        return
    for trigger in ("qa_fts_insert", "qa_fts_delete", "qa_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS qa_fts")


_QA_WITH_STATS = """
CREATE VIEW qa_with_stats AS
SELECT m.id, m.tenant_id, m.question, m.category, m.subcategory, m.source, m.is_active,
       m.created_at, m.updated_at,
       (SELECT COUNT(*) FROM medical_qa_relations r WHERE r.source_id = m.id) AS relation_count,
       (SELECT COUNT(*) FROM document_sources s WHERE s.qa_id = m.id) AS source_count,
       (SELECT COUNT(*) FROM query_log_hits h WHERE h.qa_id = m.id) AS times_retrieved,
       (SELECT AVG(l.user_feedback) FROM query_log_hits h
          JOIN query_logs l ON l.id = h.query_log_id
         WHERE h.qa_id = m.id AND l.user_feedback IS NOT NULL) AS avg_feedback
FROM medical_qa_metadata m
"""

_POPULAR_QA = """
CREATE VIEW popular_qa AS
SELECT h.qa_id AS id, m.tenant_id, m.question, m.category,
       COUNT(*) AS times_retrieved, MAX(l.created_at) AS last_retrieved_at,
       AVG(h.score) AS avg_score
FROM query_log_hits h
JOIN query_logs l ON l.id = h.query_log_id
JOIN medical_qa_metadata m ON m.id = h.qa_id
GROUP BY h.qa_id, m.tenant_id, m.question, m.category
"""


def _create_views() -> None:
    op.execute(_QA_WITH_STATS)
    op.execute(_POPULAR_QA)


def _drop_views() -> None:
    op.execute("DROP VIEW IF EXISTS popular_qa")
    op.execute("DROP VIEW IF EXISTS qa_with_stats")
