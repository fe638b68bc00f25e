"""Keyword (full-text) search: FTS5 bm25 on SQLite, an IDF-weighted ``ts_rank`` on PostgreSQL.

Both rank the pairs matching any of the query's keywords (an OR-query), honour the tenant
and metadata filters, and return ``(id, score)`` pairs with higher scores better.

PostgreSQL has no BM25, and ``ts_rank`` / ``ts_rank_cd`` ignore how rare a term is, so a
common word counts as much as a disease name. The PostgreSQL ranking therefore follows
BM25's shape: ``score(d) = Σ_t idf(t) · ts_rank(d, t)`` over the query terms, with
``idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))`` counted over the tenant's active pairs
(one GIN-indexed count per term, in one round trip) and ``ts_rank`` normalised by the
document length (flag 1), its term frequency saturating as BM25's does.
"""

from __future__ import annotations

import math
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
#: ``ts_rank`` weights of the tsvector labels {D, C, B, A}; question (A) and response (B)
#: count the same, as in the SQLite column weights.
_TS_WEIGHTS = "{0.1, 0.2, 1.0, 1.0}"
#: ``ts_rank`` normalisation: divide by 1 + log(document length).
_TS_LENGTH_NORM = 1


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
        return _postgres_search(conn, words, tenant_id, filters, limit)
    expression = fts5_query(words)
    if not expression:
        return []
    return _sqlite_search(conn, expression, tenant_id, filters, limit)


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
    conn: sa.Connection,
    words: Sequence[str],
    tenant_id: str,
    filters: Filters | None,
    limit: int,
) -> list[tuple[str, float]]:
    terms = [term for term in (tsquery([word]) for word in words) if term]
    if not terms:
        return []
    vector: sa.ColumnClause[object] = sa.column("search_vector")
    idf = _postgres_idf(conn, terms, tenant_id, vector)
    weights = sa.cast(sa.literal(_TS_WEIGHTS), ARRAY(sa.REAL))
    parts = [
        weight * sa.func.ts_rank(weights, vector, _ts(term), _TS_LENGTH_NORM)
        for term, weight in zip(terms, idf, strict=True)
        if weight > 0
    ]
    if not parts:
        return []
    rank = sum(parts[1:], parts[0])
    query = (
        sa.select(qa.c.id, rank.label("rank"))
        .where(vector.op("@@")(_ts(" | ".join(terms))), *_active(tenant_id))
        .where(*filter_clause(filters))
        .order_by(sa.desc("rank"), qa.c.id)
        .limit(limit)
    )
    return [(row.id, float(row.rank)) for row in conn.execute(query)]


def _postgres_idf(
    conn: sa.Connection, terms: list[str], tenant_id: str, vector: sa.ColumnClause[object]
) -> list[float]:
    """BM25's idf of each term over the tenant's active pairs; 0 for a term no pair has."""

    def count(*where: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
        counted = sa.select(sa.func.count()).select_from(qa)
        return counted.where(*_active(tenant_id), *where).scalar_subquery()

    row = conn.execute(
        sa.select(count(), *(count(vector.op("@@")(_ts(term))) for term in terms))
    ).one()
    total, frequencies = int(row[0]), [int(value) for value in row[1:]]
    return [math.log(1 + (total - df + 0.5) / (df + 0.5)) if df else 0.0 for df in frequencies]


def _ts(expression: str) -> sa.ColumnElement[object]:
    return sa.func.to_tsquery("english", expression)


def _active(tenant_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (qa.c.tenant_id == tenant_id, qa.c.is_active)
