"""What SQLite's query planner is told about medkb's tenant indexes.

Without statistics SQLite assumes an equality on an index's first column selects about ten
rows, so ``WHERE id IN (...) AND tenant_id = ?`` walked every row of the tenant through
``ix_qa_tenant_updated`` instead of looking the ids up by key: finding a batch's graph
neighbours took 2.8 s at 5,000 pairs and grew with the knowledge base (40 % of a 5,000-pair
ingest). A tenant holds many rows — with one tenant, all of them — and the statistics
written here say so. They describe the schema's shape, not the data: each is written only
where no ``ANALYZE`` has left a real one, which then stands.

PostgreSQL keeps its own statistics (autovacuum), so this is SQLite's alone.
"""

from __future__ import annotations

import sqlalchemy as sa

#: ``sqlite_stat1`` rows: (table, index) → "rows, rows per tenant, rows per tenant and the
#: next column". Half the rows per tenant: few tenants, or one.
SHAPE: dict[tuple[str, str], str] = {
    ("medical_qa_metadata", "ix_qa_tenant_category"): "1000000 500000 5000",
    ("medical_qa_metadata", "ix_qa_tenant_source"): "1000000 500000 100",
    ("medical_qa_metadata", "ix_qa_tenant_updated"): "1000000 500000 2",
    ("query_logs", "ix_query_logs_tenant_created"): "1000000 500000 2",
    ("audit_log", "ix_audit_log_tenant_at"): "1000000 500000 2",
    ("ingest_jobs", "ix_ingest_jobs_tenant"): "10000 5000 2",
}


def seed_statistics(engine: sa.Engine) -> None:
    """Write the :data:`SHAPE` rows missing from ``sqlite_stat1`` (SQLite only).

    One read when they are all there. Statistics only steer plans, so a database that
    cannot be written (opened read-only) is left as it is.
    """
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.begin() as conn:
            if _present(conn) == len(SHAPE):
                return
            conn.exec_driver_sql("ANALYZE sqlite_schema")  # creates sqlite_stat1 if missing
            for (table, index), stat in SHAPE.items():
                conn.exec_driver_sql(
                    "INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT ?, ?, ? WHERE NOT EXISTS "
                    "(SELECT 1 FROM sqlite_stat1 WHERE tbl = ? AND idx = ?)",
                    (table, index, stat, table, index),
                )
            conn.exec_driver_sql("ANALYZE sqlite_schema")  # and this connection plans with them
    except sa.exc.OperationalError:
        return


def _present(conn: sa.Connection) -> int:
    """How many :data:`SHAPE` rows ``sqlite_stat1`` holds (0 when there is no such table)."""
    exists = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    if exists is None:
        return 0
    rows = conn.exec_driver_sql("SELECT tbl, idx FROM sqlite_stat1").all()
    return len({(tbl, idx) for tbl, idx in rows} & set(SHAPE))
