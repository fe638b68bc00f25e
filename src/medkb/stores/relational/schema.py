"""The relational schema (SPEC §A table names), as SQLAlchemy Core tables.

The Alembic migrations create exactly these tables; ``tests/integration`` checks that the
migrated database and this metadata agree. Every tenant-owned row carries ``tenant_id``.
Texts, metadata, relations, sources and the embeddings (float32 bytes) all live here, so the
vector store can always be rebuilt without re-embedding.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

#: Native text[] on PostgreSQL, JSON elsewhere; both read back as a Python list.
TextList = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")
#: JSONB on PostgreSQL.
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    ]


tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

kb_info = sa.Table(
    "kb_info",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

qa = sa.Table(
    "medical_qa_metadata",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column(
        "tenant_id", sa.String(64), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("category", sa.Text),
    sa.Column("subcategory", sa.Text),
    sa.Column("source", sa.Text),
    sa.Column("source_type", sa.Text),
    sa.Column("author", sa.Text),
    sa.Column("publication_date", sa.Text),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("difficulty_level", sa.Text),
    sa.Column("tags", TextList, nullable=False),
    sa.Column("extra", Json, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    *_timestamps(),
    sa.Index("ix_qa_tenant_category", "tenant_id", "category"),
    sa.Index("ix_qa_tenant_source", "tenant_id", "source"),
    sa.Index("ix_qa_tenant_updated", "tenant_id", "updated_at"),
)

embeddings = sa.Table(
    "qa_embeddings",
    metadata,
    sa.Column(
        "qa_id",
        sa.String(128),
        sa.ForeignKey("medical_qa_metadata.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("field", sa.String(16), primary_key=True),
    sa.Column("model_id", sa.Text, nullable=False),
    sa.Column("dimension", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
)

#: ``medkb reembed`` stages the next model's vectors here, beside the active ones, and moves
#: them into ``qa_embeddings`` in the switch transaction. ``source_hash`` is the pair's
#: ``content_hash`` when it was embedded (a later write makes it stale); ``new_hash`` is its
#: content hash under the new model.
embeddings_next = sa.Table(
    "qa_embeddings_next",
    metadata,
    sa.Column(
        "qa_id",
        sa.String(128),
        sa.ForeignKey("medical_qa_metadata.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("field", sa.String(16), primary_key=True),
    sa.Column("model_id", sa.Text, nullable=False),
    sa.Column("dimension", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("source_hash", sa.String(64), nullable=False),
    sa.Column("new_hash", sa.String(64), nullable=False),
)

relations = sa.Table(
    "medical_qa_relations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column(
        "source_id",
        sa.String(128),
        sa.ForeignKey("medical_qa_metadata.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "target_id",
        sa.String(128),
        sa.ForeignKey("medical_qa_metadata.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("relation_type", sa.String(32), nullable=False),
    sa.Column("confidence_score", sa.Float, nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("source_id", "target_id", "relation_type", name="uq_relation"),
    sa.Index("ix_relations_target", "target_id"),
)

document_sources = sa.Table(
    "document_sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column(
        "qa_id",
        sa.String(128),
        sa.ForeignKey("medical_qa_metadata.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("object_key", sa.Text),
    sa.Column("page_number", sa.Integer),
    sa.Column("section", sa.Text),
    sa.Column("excerpt", sa.Text),
    sa.Column("url", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_sources_qa", "qa_id"),
)

query_logs = sa.Table(
    "query_logs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("session_id", sa.String(128)),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("response_time_ms", sa.Float, nullable=False),
    sa.Column("similarity_scores", Json, nullable=False),
    sa.Column("timings", Json, nullable=False),
    sa.Column("user_feedback", sa.Integer),
    sa.Column("feedback_comment", sa.Text),
    sa.Column("feedback_at", Timestamp),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_query_logs_tenant_created", "tenant_id", "created_at"),
)

query_log_hits = sa.Table(
    "query_log_hits",
    metadata,
    sa.Column(
        "query_log_id",
        sa.Integer,
        sa.ForeignKey("query_logs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "qa_id",
        sa.String(128),
        sa.ForeignKey("medical_qa_metadata.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Index("ix_query_log_hits_qa", "qa_id"),
)

analytics = sa.Table(
    "analytics",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("query_count", sa.Integer, nullable=False),
    sa.Column("total_response_time_ms", sa.Float, nullable=False),
    sa.Column("avg_response_time_ms", sa.Float, nullable=False),
    sa.Column("ingested_count", sa.Integer, nullable=False),
    sa.Column("updated_count", sa.Integer, nullable=False),
    sa.Column("deleted_count", sa.Integer, nullable=False),
    sa.Column("feedback_count", sa.Integer, nullable=False),
    sa.Column("feedback_sum", sa.Integer, nullable=False),
)

sync_status = sa.Table(
    "sync_status",
    metadata,
    sa.Column("qa_id", sa.String(128), primary_key=True),
    sa.Column("store", sa.String(32), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | synced | failed
    sa.Column("checksum", sa.String(64)),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("synced_at", Timestamp),
    sa.Column("updated_at", Timestamp, nullable=False),
    # Who is applying this id right now and until when (DESIGN "Consistency"): one worker
    # at a time per id, so two workers never write versions of one pair out of order.
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", Timestamp),
    sa.Index("ix_sync_status_state", "store", "state"),
    sa.Index("ix_sync_status_lease", "lease_owner"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("qa_id", sa.String(128), nullable=False),
    sa.Column("op", sa.String(16), nullable=False),  # upsert | delete
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("available_at", Timestamp, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_outbox_available", "available_at", "id"),
    # Claims, completions and due_ids look rows up by pair id (migration 0004).
    sa.Index("ix_outbox_qa_id", "qa_id"),
)

#: API keys of the HTTP service: only a SHA-256 of the secret is kept; ``prefix`` (shown in
#: the key itself) finds the row. Scopes: ``query``, ``write``, ``admin``.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "tenant_id", sa.String(64), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("prefix", sa.String(32), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("scopes", TextList, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_used_at", Timestamp),
    sa.Column("revoked_at", Timestamp),
    sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    sa.Index("ix_api_keys_tenant", "tenant_id"),
)

#: Append-only record of every write and admin action (who, tenant, what, when, from where).
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.Text),
    sa.Column("ip", sa.String(64)),
    sa.Column("request_id", sa.String(64)),
    sa.Column("detail", Json, nullable=False),
    sa.Index("ix_audit_log_tenant_at", "tenant_id", "at"),
)

#: Document uploads through the API: a background ingestion job per upload, with its
#: progress (``done`` of ``total`` files, ``current`` file) and, once finished, the report.
ingest_jobs = sa.Table(
    "ingest_jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # queued | running | done | failed
    sa.Column("files", Json, nullable=False),
    sa.Column("done", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("current", sa.Text),
    sa.Column("report", Json),
    sa.Column("error", sa.Text),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index("ix_ingest_jobs_tenant", "tenant_id", "created_at"),
)

# --- The ``db`` event bus and streaming ingestion (migration 0006) ----------------------

#: Integer ids on SQLite (its autoincrement needs INTEGER), 64-bit on PostgreSQL.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: Events published on the ``db`` bus, in publication order per topic.
stream_events = sa.Table(
    "stream_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_stream_events_topic", "topic", "id"),
)

#: One row per (consumer group, event) once delivered: who holds it until when, how often
#: it was delivered, and when it was acked.
stream_claims = sa.Table(
    "stream_claims",
    metadata,
    sa.Column("group_name", sa.String(200), primary_key=True),
    sa.Column(
        "event_id",
        BigId,
        sa.ForeignKey("stream_events.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("consumer", sa.String(200), nullable=False),
    sa.Column("claimed_until", Timestamp, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("acked_at", Timestamp),
)

#: Events a consumer could not apply: the reason, the original body, where it came from.
stream_dead_letters = sa.Table(
    "stream_dead_letters",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("group_name", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("origin", Json, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_stream_dead_letters_topic", "topic", "id"),
)

#: Event ids already applied to this knowledge base, whatever bus brought them: a
#: redelivered event is skipped (effectively-once application).
stream_applied = sa.Table(
    "stream_applied",
    metadata,
    sa.Column("event_id", sa.String(128), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("applied_at", Timestamp, nullable=False),
)

#: ``behaviour.event`` interactions (SPEC §D), keyed by event id. ``embedding`` is the
#: float32 vector of the event's description (:func:`medkb.stores.relational.behaviour.
#: describe`) by ``embedding_model``; NULL for rows written before migration 0007.
behaviour_events = sa.Table(
    "behaviour_events",
    metadata,
    sa.Column("event_id", sa.String(128), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("session_id", sa.String(128)),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("item_id", sa.String(128)),
    sa.Column("category", sa.String(256)),
    sa.Column("price", sa.Float),
    sa.Column("occurred_at", Timestamp, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("embedding", sa.LargeBinary),
    sa.Column("embedding_model", sa.Text),
    sa.Index("ix_behaviour_events_user", "tenant_id", "user_id", "occurred_at"),
    sa.Index("ix_behaviour_events_category", "tenant_id", "category", "occurred_at"),
)
