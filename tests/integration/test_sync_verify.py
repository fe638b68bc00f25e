"""``sync verify`` finds drift that was made behind medkb's back, and ``sync repair`` removes it.

Drift is made directly in a real vector store (a record deleted, a bogus one added, one
overwritten), on SQLite and PostgreSQL with the local index, and on Milvus Lite and pgvector.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase
from medkb.models import QAMetadata, QAPair
from medkb.stores.relational import outbox as outbox_rows
from medkb.stores.relational.schema import outbox, sync_status
from medkb.sync.apply import record_checksum, utcnow
from medkb.sync.repair import repair
from medkb.sync.verify import status, verify
from tests.integration.test_kb import CARDIO, OTHER, store_matches_relational
from tests.integration.test_kb_backends import backend_kb, pgvector_database

__all__ = ["backend_kb", "pgvector_database"]  # fixtures: each production vector backend


def make_drift(kb: KnowledgeBase) -> None:
    """One missing ("flu-vaccine"), one extra ("ghost") and one stale ("htn-causes") id."""
    kb.store.delete(["flu-vaccine"])
    [asthma, causes] = kb.store.fetch(["asthma-triggers", "htn-causes"])
    kb.store.upsert(
        [
            dataclasses.replace(asthma, id="ghost"),
            dataclasses.replace(causes, response="Edited behind medkb's back."),
        ]
    )


def check_drift_is_found_and_repaired(kb: KnowledgeBase) -> None:
    kb.add(CARDIO + OTHER)
    assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean
    make_drift(kb)

    found = verify(kb.engine, kb.store, tenant_id=kb.tenant_id, batch_size=2)
    assert (found.missing, found.extra, found.stale) == (["flu-vaccine"], ["ghost"], ["htn-causes"])
    assert (found.relational_count, found.vector_count) == (5, 5)

    report = repair(kb.engine, kb.store, tenant_id=kb.tenant_id, batch_size=2)
    assert report.before == found
    assert (report.upserted, report.deleted) == (2, 1)
    assert report.after.clean and report.after.vector_count == 5
    store_matches_relational(kb)
    assert_sync_status_matches_store(kb)


def assert_sync_status_matches_store(kb: KnowledgeBase) -> None:
    """Every pair is recorded as synced with the checksum of what the vector store holds."""
    with kb.engine.connect() as conn:
        rows = conn.execute(
            sa.select(sync_status.c.qa_id, sync_status.c.state, sync_status.c.checksum)
        )
        recorded = {row.qa_id: (row.state, row.checksum) for row in rows}
    stored = {r.id: ("synced", record_checksum(r)) for r in kb.store.fetch(list(kb.store.ids()))}
    assert recorded == stored


def test_verify_finds_missing_extra_and_stale_ids_and_repair_fixes_them(
    kb: KnowledgeBase,
) -> None:
    check_drift_is_found_and_repaired(kb)


def test_repair_applies_backed_off_outbox_rows_first(kb: KnowledgeBase) -> None:
    kb.add(OTHER)
    kb.store.delete(["flu-vaccine"])
    now = utcnow()
    with kb.engine.begin() as conn:  # a change still backed off after a failed apply
        outbox_rows.enqueue(conn, ["flu-vaccine"], tenant_id=kb.tenant_id, op="upsert", now=now)
        conn.execute(outbox.update().values(available_at=now + timedelta(hours=1)))
    pending = status(kb.engine, tenant_id=kb.tenant_id, clock=lambda: now + timedelta(seconds=7))
    assert (pending.outbox_rows, pending.pending, pending.synced) == (1, 1, 1)
    assert pending.oldest_pending_age_s == pytest.approx(7.0, abs=0.01)
    before = verify(kb.engine, kb.store, tenant_id=kb.tenant_id)
    assert before.missing == ["flu-vaccine"] and before.outbox_pending == 1

    report = repair(kb.engine, kb.store, tenant_id=kb.tenant_id)
    assert report.applied == 1 and report.before.clean and report.after.clean
    after = status(kb.engine, tenant_id=kb.tenant_id)
    assert (after.outbox_rows, after.oldest_pending_age_s, after.synced) == (0, None, 2)


def test_status_lists_parked_ids_and_repair_applies_them(kb: KnowledgeBase) -> None:
    kb.add(OTHER)
    now = utcnow()
    with kb.engine.begin() as conn:  # an apply that failed and was parked
        outbox_rows.enqueue(conn, ["asthma-triggers"], tenant_id=kb.tenant_id, op="upsert", now=now)
        batch = outbox_rows.claim(conn, now=now, ids=["asthma-triggers"])
        outbox_rows.fail(conn, batch, error="connection refused", now=now, max_attempts=1)
    parked = status(kb.engine, tenant_id=kb.tenant_id)
    assert (parked.failed, parked.synced, parked.outbox_rows) == (1, 1, 1)
    assert parked.failed_ids == [
        {"id": "asthma-triggers", "attempts": 1, "last_error": "connection refused"}
    ]
    assert repair(kb.engine, kb.store, tenant_id=kb.tenant_id).applied == 1
    after = status(kb.engine, tenant_id=kb.tenant_id)
    assert (after.failed, after.synced, after.failed_ids) == (0, 2, [])


def many_pairs(count: int) -> list[QAPair]:
    topics = ["asthma", "diabetes", "migraine", "anaemia", "gout", "eczema", "angina"]
    return [
        QAPair(
            id=f"pair-{n:03d}",
            question=f"What is question {n} about {topics[n % len(topics)]}?",
            response=f"Answer {n}: {topics[n % len(topics)]} is discussed with a clinician.",
            metadata=QAMetadata(category=topics[n % len(topics)].title()),
        )
        for n in range(count)
    ]


def check_rebuild_does_not_re_embed(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    kb.add(many_pairs(50))
    make_drift_on_many(kb)

    def refuse(texts: Sequence[str]) -> np.ndarray:
        raise AssertionError("a rebuild must not re-embed")

    monkeypatch.setattr(kb.embedder, "embed", refuse)
    report = repair(kb.engine, kb.store, tenant_id=kb.tenant_id, rebuild_all=True, batch_size=16)
    assert report.rebuilt and report.before.drift == 3
    assert (report.upserted, report.deleted) == (50, 50)
    assert report.after.clean and report.after.relational_count == 50
    store_matches_relational(kb)
    assert_sync_status_matches_store(kb)


def make_drift_on_many(kb: KnowledgeBase) -> None:
    kb.store.delete(["pair-000"])
    [first, second] = kb.store.fetch(["pair-001", "pair-002"])
    kb.store.upsert(
        [dataclasses.replace(first, id="ghost"), dataclasses.replace(second, question="Edited?")]
    )


def test_rebuild_rewrites_every_record_without_re_embedding(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_rebuild_does_not_re_embed(kb, monkeypatch)


def test_drift_repair_and_rebuild_on_milvus_lite_and_pgvector(
    backend_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = backend_kb
    check_drift_is_found_and_repaired(kb)
    monkeypatch.setattr(kb.embedder, "embed", lambda texts: 1 / 0)
    report = repair(kb.engine, kb.store, tenant_id=kb.tenant_id, rebuild_all=True)
    assert report.after.clean and (report.upserted, report.deleted) == (5, 5)
    store_matches_relational(kb)
