"""Streaming ingestion: the ``db`` event bus (events, group claims, dead letters), the
applied-event ids that make redelivery harmless, and ``behaviour.event`` rows.

Idempotent: every step may run again on a database that already has it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stream_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_stream_events_topic", "stream_events", ["topic", "id"], if_not_exists=True)
    op.create_table(
        "stream_claims",
        sa.Column("group_name", sa.String(length=200), nullable=False),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("claimed_until", _TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("acked_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["stream_events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_name", "event_id"),
        if_not_exists=True,
    )
    op.create_table(
        "stream_dead_letters",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("group_name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("origin", _JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        "ix_stream_dead_letters_topic",
        "stream_dead_letters",
        ["topic", "id"],
        if_not_exists=True,
    )
    op.create_table(
        "stream_applied",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("applied_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
        if_not_exists=True,
    )
    op.create_table(
        "behaviour_events",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=True),
        sa.Column("category", sa.String(length=256), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
        if_not_exists=True,
    )
    op.create_index(
        "ix_behaviour_events_user",
        "behaviour_events",
        ["tenant_id", "user_id", "occurred_at"],
        if_not_exists=True,
    )
    op.create_index(
        "ix_behaviour_events_category",
        "behaviour_events",
        ["tenant_id", "category", "occurred_at"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_behaviour_events_category", table_name="behaviour_events", if_exists=True)
    op.drop_index("ix_behaviour_events_user", table_name="behaviour_events", if_exists=True)
    op.drop_table("behaviour_events", if_exists=True)
    op.drop_table("stream_applied", if_exists=True)
    op.drop_index("ix_stream_dead_letters_topic", table_name="stream_dead_letters", if_exists=True)
    op.drop_table("stream_dead_letters", if_exists=True)
    op.drop_table("stream_claims", if_exists=True)
    op.drop_index("ix_stream_events_topic", table_name="stream_events", if_exists=True)
    op.drop_table("stream_events", if_exists=True)
