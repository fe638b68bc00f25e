"""Linear bulk work: FTS5 rows keyed by an integer, and the outbox indexed by pair id.

Before this revision the SQLite keyword index ``qa_fts`` was found by its ``UNINDEXED``
``qa_id`` column, so every update or delete of a pair scanned the whole FTS table, and the
outbox had no index on ``qa_id``, so every claim, completion and ``due_ids`` scanned the
whole outbox: deleting or syncing n pairs cost O(n²).

SQLite: ``qa_fts_keys`` gives each pair a stable integer key (an ``INTEGER PRIMARY KEY``,
which ``VACUUM`` never renumbers, unlike the implicit rowid of ``medical_qa_metadata``)
that is also its ``qa_fts`` rowid; the triggers look the key up by the unique ``qa_id``
and update or delete ``qa_fts`` by rowid. Existing rows keep their FTS entries: their
current rowids become their keys, so no text is tokenised again. PostgreSQL's generated
``tsvector`` column needs no change. Both: ``ix_outbox_qa_id``.

Idempotent: every step may run again on a database that already has it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 18:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TRIGGERS = ("qa_fts_insert", "qa_fts_delete", "qa_fts_update")
_KEY_OF_NEW = "(SELECT id FROM qa_fts_keys WHERE qa_id = new.id)"
_KEY_OF_OLD = "(SELECT id FROM qa_fts_keys WHERE qa_id = old.id)"

_KEYS_TABLE = (
    "CREATE TABLE IF NOT EXISTS qa_fts_keys ("
    "id INTEGER PRIMARY KEY, qa_id VARCHAR(128) NOT NULL UNIQUE)"
)
#: Bring ``qa_fts_keys`` and ``qa_fts`` in line with the pairs, reusing existing FTS rows.
_BACKFILL = [
    # each FTS row's rowid becomes its pair's key (the first one, if a pair had several)
    "INSERT OR IGNORE INTO qa_fts_keys (id, qa_id) SELECT rowid, qa_id FROM qa_fts ORDER BY rowid",
    # keys of pairs that no longer exist, and FTS rows without a key
    "DELETE FROM qa_fts_keys WHERE qa_id NOT IN (SELECT id FROM medical_qa_metadata)",
    "DELETE FROM qa_fts WHERE rowid NOT IN (SELECT id FROM qa_fts_keys)",
    # pairs without a key or without an FTS row
    "INSERT INTO qa_fts_keys (qa_id) SELECT id FROM medical_qa_metadata "
    "WHERE id NOT IN (SELECT qa_id FROM qa_fts_keys)",
    "INSERT INTO qa_fts (rowid, qa_id, question, response) "
    "SELECT k.id, m.id, m.question, m.response FROM qa_fts_keys k "
    "JOIN medical_qa_metadata m ON m.id = k.qa_id WHERE k.id NOT IN (SELECT rowid FROM qa_fts)",
]
_KEYED_TRIGGERS = [
    "CREATE TRIGGER qa_fts_insert AFTER INSERT ON medical_qa_metadata BEGIN "
    f"DELETE FROM qa_fts WHERE rowid = {_KEY_OF_NEW}; "
    "INSERT INTO qa_fts_keys (qa_id) SELECT new.id "
    "WHERE NOT EXISTS (SELECT 1 FROM qa_fts_keys WHERE qa_id = new.id); "
    "INSERT INTO qa_fts (rowid, qa_id, question, response) "
    f"VALUES ({_KEY_OF_NEW}, new.id, new.question, new.response); END",
    "CREATE TRIGGER qa_fts_delete AFTER DELETE ON medical_qa_metadata BEGIN "
    f"DELETE FROM qa_fts WHERE rowid = {_KEY_OF_OLD}; "
    "DELETE FROM qa_fts_keys WHERE qa_id = old.id; END",
    "CREATE TRIGGER qa_fts_update AFTER UPDATE OF id, question, response "
    "ON medical_qa_metadata BEGIN "
    "UPDATE qa_fts_keys SET qa_id = new.id WHERE qa_id = old.id; "
    "UPDATE qa_fts SET qa_id = new.id, question = new.question, response = new.response "
    f"WHERE rowid = {_KEY_OF_NEW}; END",
]
#: The triggers of revision 0001, restored by a downgrade.
_SCANNING_TRIGGERS = [
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


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def _replace_triggers(statements: list[str]) -> None:
    for trigger in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_outbox_qa_id ON outbox (qa_id)")
    if not _sqlite():
        return
    op.execute(_KEYS_TABLE)
    for statement in _BACKFILL:
        op.execute(statement)
    _replace_triggers(_KEYED_TRIGGERS)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_outbox_qa_id")
    if not _sqlite():
        return
    _replace_triggers(_SCANNING_TRIGGERS)
    op.execute("DROP TABLE IF EXISTS qa_fts_keys")
