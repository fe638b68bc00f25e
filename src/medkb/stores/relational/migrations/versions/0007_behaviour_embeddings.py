"""``behaviour_events`` gain an embedding (float32 bytes, as ``qa_embeddings.vector``) and
the id of the model that made it, so interactions are searchable by similarity. Rows
written before this revision keep both NULL and are skipped by the search.

Idempotent: a column that is already there is left as it is.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_model", sa.Text(), nullable=True),
    ]


def _present() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("behaviour_events")}


def upgrade() -> None:
    present = _present()
    for column in _columns():
        if column.name not in present:
            op.add_column("behaviour_events", column)


def downgrade() -> None:
    present = _present()
    with op.batch_alter_table("behaviour_events", schema=None) as batch_op:
        for column in reversed(_columns()):
            if column.name in present:
                batch_op.drop_column(column.name)
