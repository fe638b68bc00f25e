"""A vector store that fails mid-write: the relational commit stands, the change waits in
the outbox, the caller is told, and the next sync catches up. The fault is injected into a
real local index (a dead Milvus server is covered by the contract suite)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase
from medkb.errors import SyncPending, VectorStoreError
from medkb.models import VectorRecord
from medkb.stores.relational.schema import outbox, sync_status
from medkb.stores.vector.base import VectorStore
from tests.integration.test_kb import CARDIO, OTHER, store_matches_relational


class Outage:
    """Forwards to a real vector store, failing writes while ``down`` is set."""

    def __init__(self, inner: VectorStore) -> None:
        self.inner, self.down = inner, False

    def upsert(self, records: Sequence[VectorRecord]) -> None:
        if self.down:
            raise VectorStoreError("connection refused (injected outage)")
        self.inner.upsert(records)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.fixture
def outage(kb: KnowledgeBase) -> Outage:
    wrapper = Outage(kb.store)
    kb.store = kb.writer.store = kb.searcher.store = wrapper  # type: ignore[assignment]
    return wrapper


def test_outage_keeps_the_commit_and_catches_up(kb: KnowledgeBase, outage: Outage) -> None:
    kb.add(OTHER)
    outage.down = True
    with pytest.raises(SyncPending, match="committed") as caught:
        kb.add(CARDIO)
    assert set(caught.value.pending_ids) >= {p.id for p in CARDIO}
    assert kb.stats()["relational_pairs"] == 5
    with kb.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() >= 3
        states = dict(conn.execute(sa.select(sync_status.c.qa_id, sync_status.c.state)).all())
        errors = {row[0] for row in conn.execute(sa.select(sync_status.c.last_error))}
    assert {states[p.id] for p in CARDIO} == {"pending"}
    assert any(error and "injected outage" in error for error in errors)
    outage.down = False
    with kb.engine.begin() as conn:  # skip the retry back-off instead of sleeping
        conn.execute(outbox.update().values(available_at=sa.func.current_timestamp()))
    assert kb.sync() >= 3
    store_matches_relational(kb)
    assert kb.stats()["sync"] == {"synced": 5, "outbox_pending": 0}
