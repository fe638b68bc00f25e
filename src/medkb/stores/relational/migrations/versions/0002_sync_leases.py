"""Per-id leases on sync_status, so several sync workers can drain one outbox safely.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 06:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_sync_status_lease", ["lease_owner"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sync_status", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_status_lease")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
