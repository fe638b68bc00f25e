"""Staging table for ``medkb reembed``: the next model's vectors beside the active ones.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 06:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_embeddings_next",
        sa.Column("qa_id", sa.String(length=128), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("model_id", sa.Text(), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("new_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["qa_id"], ["medical_qa_metadata.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("qa_id", "field"),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("qa_embeddings_next", if_exists=True)
