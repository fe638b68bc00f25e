"""Bulk work is linear (issue 8, item 15): the work of ONE delete, update or outbox claim
must not grow with the size of the knowledge base.

Counted in SQLite virtual-machine steps (``set_progress_handler``, per hundred), which do
not depend on the machine's load: the same operation on a knowledge base of 4,000 pairs
instead of 1,000 may take a few hundred steps more (B-tree depth), not the tens of
thousands more it took when the FTS triggers scanned ``qa_fts`` by its ``UNINDEXED``
``qa_id`` (measured before migration 0004: one delete 12,200 → 48,300 steps) and a claim
scanned the outbox (15,800 → 36,800).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from medkb.models import Embeddings, QAMetadata, QAPair
from medkb.stores.relational import engine as relational
from medkb.stores.relational import outbox, pairs, relations

NOW = datetime(2026, 12, 4, tzinfo=UTC)
Work = Callable[[sa.Connection], object]


def pair(n: int) -> QAPair:
    return QAPair(
        id=f"p{n:06d}",
        question=f"What is question {n} about asthma?",
        response=f"Answer {n} about asthma and inhalers.",
        metadata=QAMetadata(category="Test"),
    )


def kb_of(tmp_path: Path, size: int) -> sa.Engine:
    """``size`` pairs, each with a pending outbox row, as a bulk import leaves them."""
    engine = relational.make_engine(f"sqlite:///{tmp_path / f'kb{size}.db'}")
    relational.upgrade(engine)
    v = np.ones(4, dtype=np.float32)
    vectors = Embeddings(question=v, response=v, combined=v, model_id="test")
    batch = [pair(n) for n in range(size)]
    with engine.begin() as conn:
        pairs.ensure_tenant(conn, "default", now=NOW)
        pairs.write_pairs(conn, batch, [vectors] * size, existing=(), now=NOW)
        outbox.enqueue(conn, [p.id for p in batch], tenant_id="default", op="upsert", now=NOW)
    return engine


def steps(engine: sa.Engine, work: Work) -> int:
    """SQLite VM steps (in hundreds) ``work`` takes, in a transaction rolled back after."""
    counted = [0]

    def tick() -> int:
        counted[0] += 1
        return 0

    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.set_progress_handler(tick, 100)  # type: ignore[attr-defined]
        try:
            with conn.begin() as transaction:
                work(conn)
                transaction.rollback()
        finally:
            raw.set_progress_handler(None, 0)  # type: ignore[attr-defined]
    return counted[0]


def growth(tmp_path: Path, work: Work) -> int:
    """Extra hundreds of VM steps ``work`` takes on 4,000 pairs instead of 1,000."""
    small, big = kb_of(tmp_path, 1000), kb_of(tmp_path, 4000)
    try:
        return steps(big, work) - steps(small, work)
    finally:
        small.dispose()
        big.dispose()


def delete_one(conn: sa.Connection) -> None:
    pairs.delete_pairs(conn, ["p000500"], tenant_id="default")


def update_one(conn: sa.Connection) -> None:
    conn.execute(sa.text("UPDATE medical_qa_metadata SET question = 'gout?' WHERE id = 'p000500'"))


def claim_some(conn: sa.Connection) -> None:
    outbox.claim(conn, now=NOW, limit=100, owner="bench")


def neighbours_of_a_batch(conn: sa.Connection) -> None:
    relations.neighbour_ids(conn, [f"p{n:06d}" for n in range(0, 640, 10)], tenant_id="default")


def test_finding_a_batchs_graph_neighbours_does_not_walk_the_tenant(tmp_path: Path) -> None:
    """Without statistics SQLite read ``tenant_id = ?`` as selecting ten rows and walked all
    of the tenant's pairs for every batch written (measured: +12,150 hundred steps for 3,000
    more pairs; 40 % of a 5,000-pair ingest)."""
    assert growth(tmp_path, neighbours_of_a_batch) <= 5


def test_deleting_a_pair_does_not_scan_the_keyword_index(tmp_path: Path) -> None:
    assert growth(tmp_path, delete_one) <= 5


def test_updating_a_pair_does_not_scan_the_keyword_index(tmp_path: Path) -> None:
    assert growth(tmp_path, update_one) <= 5


def test_a_claim_does_not_scan_the_outbox_or_every_lease(tmp_path: Path) -> None:
    assert growth(tmp_path, claim_some) <= 5
