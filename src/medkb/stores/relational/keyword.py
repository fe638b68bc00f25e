"""Keyword (full-text) search: FTS5 bm25 on SQLite, ``ts_rank_cd`` on PostgreSQL.

Both rank the same OR-query of the query's keywords, honour the tenant and metadata
filters, and return ``(id, score)`` pairs with higher scores better.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from medkb.search.text import fts5_query, tsquery
from medkb.stores.relational.pairs import Filters, filter_clause
from medkb.stores.relational.schema import qa

#: FTS5 column weights (qa_id, question, response): question and answer count the same
#: (measured: weighting the question double lost nDCG@10 on MEDIQA and BioASQ, see
#: docs/retrieval.md "Tuning log").
_BM25_WEIGHTS = "0.0, 1.0, 1.0"
#: ``ts_rank_cd`` weights of the tsvector labels {D, C, B, A}; question (A) and response (B)
#: count the same, as in the SQLite column weights.
_TS_WEIGHTS = "{0.1, 0.2, 1.0, 1.0}"


def keyword_search(
    conn: sa.Connection,
    words: Sequence[str],
    *,
    tenant_id: str,
    filters: Filters | None,
    limit: int,
) -> list[tuple[str, float]]:
    """Rank active pairs of ``tenant_id`` matching any of ``words``, best first."""
    if conn.dialect.name == "postgresql":
        expression = tsquery(words)
        search = _postgres_search
    else:
        expression = fts5_query(words)
        search = _sqlite_search
    if not expression:
        return []
    return search(conn, expression, tenant_id, filters, limit)


def _sqlite_search(
    conn: sa.Connection, expression: str, tenant_id: str, filters: Filters | None, limit: int
) -> list[tuple[str, float]]:
    fts = sa.table("qa_fts", sa.column("qa_id"), sa.column("qa_fts"))
    rank: sa.ColumnElement[float] = sa.literal_column(f"bm25(qa_fts, {_BM25_WEIGHTS})")
    query = (
        sa.select(fts.c.qa_id, rank.label("rank"))
        .join(qa, qa.c.id == fts.c.qa_id)
        .where(sa.text("qa_fts MATCH :match"), qa.c.tenant_id == tenant_id, qa.c.is_active)
        .where(*filter_clause(filters))
        .order_by(rank, fts.c.qa_id)
        .limit(limit)
    )
    rows = conn.execute(query, {"match": expression})
    # bm25() is lower-is-better and negative; flip it so higher is better everywhere.
    return [(row.qa_id, -float(row.rank)) for row in rows]


def _postgres_search(
    conn: sa.Connection, expression: str, tenant_id: str, filters: Filters | None, limit: int
) -> list[tuple[str, float]]:
    query_terms = sa.func.to_tsquery("english", expression)
    vector: sa.ColumnClause[object] = sa.column("search_vector")
    weights = sa.cast(sa.literal(_TS_WEIGHTS), ARRAY(sa.REAL))
    rank = sa.func.ts_rank_cd(weights, vector, query_terms, 32)  # 32: rank / (rank + 1)
    query = (
        sa.select(qa.c.id, rank.label("rank"))
        .where(vector.op("@@")(query_terms), qa.c.tenant_id == tenant_id, qa.c.is_active)
        .where(*filter_clause(filters))
        .order_by(rank.desc(), qa.c.id)
        .limit(limit)
    )
    return [(row.id, float(row.rank)) for row in conn.execute(query)]
