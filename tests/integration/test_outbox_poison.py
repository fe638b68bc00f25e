"""One row the vector store rejects must not block the outbox (issue 8, item 2).

The fault is injected on top of a real local index: :class:`Picky` forwards to it, but
refuses (all or nothing, as the real stores do) any batch holding a record whose question
carries :data:`POISON`. Fifty pairs are written with one poisoned: the other 49 sync, the
poisoned one is parked as ``failed`` with the store's reason, visible in
``medkb sync status --json`` and ``medkb get``; ``repair`` goes past it and reports it;
once the pair is fixed, it syncs. A store that refuses *every* write is down, not picky:
the batch backs off as a whole and no id is parked as failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.errors import SyncPending, VectorStoreError
from medkb.models import QAMetadata, QAPair, VectorRecord
from medkb.stores.relational.schema import outbox, sync_status
from medkb.stores.vector.base import VectorStore
from medkb.sync.repair import repair
from medkb.sync.verify import status, verify
from medkb.sync.worker import Worker

POISON = "\u2620"
BAD = "pair-017"


class Picky:
    """Forwards to a real vector store; refuses batches holding a poisoned record."""

    def __init__(self, inner: VectorStore) -> None:
        self.inner, self.upserts, self.down = inner, 0, False

    def upsert(self, records: Sequence[VectorRecord]) -> None:
        self.upserts += 1
        if self.down:
            raise VectorStoreError("internal error 13 (injected)")
        for record in records:
            if POISON in record.question:
                raise VectorStoreError(f"record {record.id} rejected: invalid text (injected)")
        self.inner.upsert(records)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def fifty() -> list[QAPair]:
    topics = ["asthma", "diabetes", "migraine", "anaemia", "gout", "eczema", "angina"]
    return [
        QAPair(
            id=f"pair-{n:03d}",
            question=f"What is question {n} about {topics[n % 7]}?{POISON if n == 17 else ''}",
            response=f"Answer {n}: {topics[n % 7]} is discussed with a clinician.",
            metadata=QAMetadata(category=topics[n % 7].title()),
        )
        for n in range(50)
    ]


def install(kb: KnowledgeBase) -> Picky:
    picky = Picky(kb.store)
    kb.store = kb.writer.store = kb.searcher.store = picky  # type: ignore[assignment]
    return picky


@pytest.fixture
def eventual(settings: Settings) -> Iterator[KnowledgeBase]:
    with build(settings.model_copy(update={"sync_strategy": "eventual"})) as kb:
        yield kb


def medkb(settings: Settings, *args: str) -> dict[str, object]:
    """Run the real CLI on this knowledge base; its JSON output."""
    env = {
        **os.environ,
        "MEDKB_HOME": str(settings.home),
        "MEDKB_EMBEDDER": "static",
        "MEDKB_CACHE_DIR": str(settings.cache_dir),
        "MEDKB_DATABASE_URL": settings.resolved_database_url(),
    }
    env.pop("MEDKB_VECTOR_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "medkb.cli", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout)
    return found


def assert_parked(kb: KnowledgeBase, settings: Settings) -> None:
    """49 in the vector store, the poisoned one failed with its reason everywhere."""
    assert sorted(kb.store.ids()) == sorted(p.id for p in fifty() if p.id != BAD)
    report = status(kb.engine, tenant_id=kb.tenant_id)
    assert (report.failed, report.pending, report.synced) == (1, 0, 49)
    shown = medkb(settings, "sync", "status")
    assert shown["failed"] == 1 and shown["synced"] == 49
    (failed,) = shown["failed_ids"]  # type: ignore[misc]
    assert failed["id"] == BAD and "rejected: invalid text" in failed["last_error"]
    sync = medkb(settings, "get", BAD)["sync"]
    assert sync["state"] == "failed" and "rejected: invalid text" in sync["last_error"]  # type: ignore[index]


def fix_and_check(kb: KnowledgeBase) -> None:
    kb.update(BAD, question="What is question 17 about gout, spelled plainly?")


def test_one_rejected_row_does_not_block_a_realtime_write(
    kb: KnowledgeBase, settings: Settings
) -> None:
    picky = install(kb)
    with pytest.raises(SyncPending, match="rejected them") as caught:
        kb.add(fifty())
    assert caught.value.pending_ids == [BAD]
    assert picky.upserts <= 2 * 6 + 3  # a bisection, not one write per id
    assert_parked(kb, settings)

    report = repair(kb.engine, kb.store, tenant_id=kb.tenant_id)
    assert list(report.failed) == [BAD] and "rejected" in report.failed[BAD]
    assert report.after.missing == [BAD] and report.after.relational_count == 50

    fix_and_check(kb)
    assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean
    assert status(kb.engine, tenant_id=kb.tenant_id).synced == 50


def test_one_rejected_row_does_not_block_the_worker(
    eventual: KnowledgeBase, settings: Settings
) -> None:
    picky = install(eventual)
    eventual.add(fifty())
    worker = Worker(engine=eventual.engine, store=picky, settings=eventual.settings.sync)  # type: ignore[arg-type]
    stats = worker.run(once=True)
    assert (stats.applied, stats.failed, stats.errors) == (49, 1, 0)
    assert_parked(eventual, settings)

    report = repair(eventual.engine, picky, tenant_id=eventual.tenant_id)  # type: ignore[arg-type]
    assert list(report.failed) == [BAD] and report.after.missing == [BAD]
    with eventual.engine.connect() as conn:  # still parked, not lost
        rows = conn.execute(sa.select(outbox.c.qa_id, outbox.c.available_at)).all()
    assert {row.qa_id for row in rows} == {BAD}

    fix_and_check(eventual)
    assert worker.run(once=True).applied >= 1
    assert verify(eventual.engine, picky, tenant_id=eventual.tenant_id).clean  # type: ignore[arg-type]


def test_a_store_that_refuses_every_write_backs_the_batch_off_without_parking(
    eventual: KnowledgeBase,
) -> None:
    picky = install(eventual)
    eventual.add(fifty()[:40])
    picky.down = True  # an error that does not say "connection": found out by probing
    stats = Worker(engine=eventual.engine, store=picky, settings=eventual.settings.sync).run(  # type: ignore[arg-type]
        once=True
    )
    assert (stats.applied, stats.failed, stats.errors) == (0, 0, 1)
    assert picky.upserts <= 2 * 6 + 2 + 1  # log2(40) levels of two halves, one probe
    with eventual.engine.connect() as conn:
        states = set(conn.execute(sa.select(sync_status.c.state)).scalars())
    assert states == {"pending"}
