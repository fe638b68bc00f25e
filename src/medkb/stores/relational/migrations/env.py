"""Alembic environment: runs medkb's migrations on the connection the caller passes in.

medkb runs migrations programmatically (``medkb.stores.relational.migrate.upgrade``); the
connection arrives in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from medkb.stores.relational.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
