"""Leases: deletes and updates racing a sync worker, step by step, on SQLite and PostgreSQL.

Each test plays a worker's steps (claim, read, write, complete) by hand around a real
write, at the instant a race would bite, against a real database and the local index.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.errors import SyncPending
from medkb.models import VectorRecord
from medkb.stores.relational import outbox
from medkb.stores.relational.schema import outbox as outbox_table
from medkb.stores.relational.schema import sync_status
from medkb.sync.apply import (
    apply_outbox,
    current_records,
    drain,
    record_checksum,
    utcnow,
    write_records,
)
from medkb.sync.repair import RepairReport, repair
from medkb.sync.verify import verify
from tests.integration.test_kb import CARDIO, store_matches_relational


@pytest.fixture
def eventual_kb(settings: Settings) -> Iterator[KnowledgeBase]:
    """A knowledge base whose writes only commit; the test applies the outbox itself."""
    with build(settings.model_copy(update={"sync_strategy": "eventual"})) as kb:
        yield kb


def claim(kb: KnowledgeBase, *, lease_s: float = 30.0) -> outbox.OutboxBatch:
    """What a worker's claim takes now."""
    with kb.engine.begin() as conn:
        return outbox.claim(conn, now=utcnow(), lease_s=lease_s)


def read(kb: KnowledgeBase, batch: outbox.OutboxBatch) -> list[VectorRecord]:
    """A worker's read of the claimed ids, to write later."""
    with kb.engine.connect() as conn:
        return current_records(conn, batch.ids)


def finish(kb: KnowledgeBase, batch: outbox.OutboxBatch, records: list[VectorRecord]) -> None:
    """The same worker writing what it read, then completing, however late."""
    write_records(kb.store, records, batch.ids)
    checksums = {record.id: record_checksum(record) for record in records}
    with kb.engine.begin() as conn:
        outbox.complete(conn, batch, checksums=checksums, now=utcnow())


def leases_left(kb: KnowledgeBase) -> int:
    query = sa.select(sa.func.count()).where(sync_status.c.lease_owner.is_not(None))
    with kb.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_a_leased_id_is_not_claimed_by_a_second_worker(eventual_kb: KnowledgeBase) -> None:
    kb = eventual_kb
    kb.add(CARDIO)
    first = claim(kb)
    assert sorted(first.ids) == sorted(p.id for p in CARDIO)
    assert claim(kb).ids == []  # everything is held
    kb.update("htn-causes", response="Salt, age and genes raise blood pressure.")
    assert claim(kb).ids == []  # a new row for a held id waits for the holder
    assert apply_outbox(kb.engine, kb.store) == 0


def test_an_update_racing_the_worker_is_applied_after_it(eventual_kb: KnowledgeBase) -> None:
    kb = eventual_kb
    kb.add(CARDIO)
    batch = claim(kb)
    records = read(kb, batch)  # the worker read version 1 ...
    kb.update("htn-causes", response="Version 2: salt, age and genes.")
    finish(kb, batch, records)  # ... and writes it after version 2 committed
    assert kb.store.fetch(["htn-causes"])[0].response != "Version 2: salt, age and genes."
    assert drain(kb.engine, kb.store) >= 1  # version 2's rows were not swallowed
    assert kb.store.fetch(["htn-causes"])[0].response == "Version 2: salt, age and genes."
    assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean
    assert leases_left(kb) == 0


def test_a_delete_racing_the_worker_is_not_resurrected(eventual_kb: KnowledgeBase) -> None:
    kb = eventual_kb
    kb.add(CARDIO)
    batch = claim(kb)
    records = read(kb, batch)
    assert "htn-symptoms" in {r.id for r in records}  # read while it still existed
    kb.delete("htn-symptoms")
    finish(kb, batch, records)  # the late write puts it back in the vector store ...
    drain(kb.engine, kb.store)  # ... and the delete's own row removes it again
    assert "htn-symptoms" not in set(kb.store.ids())
    assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean
    store_matches_relational(kb)


def test_an_expired_lease_is_taken_over_and_the_late_holder_requeues(
    eventual_kb: KnowledgeBase,
) -> None:
    kb = eventual_kb
    kb.add(CARDIO)
    stalled = claim(kb, lease_s=0.5)
    records = read(kb, stalled)  # read version 1, then stalls past its lease
    kb.update("htn-causes", response="Version 2 after the stall.")
    later = utcnow() + timedelta(seconds=1)
    assert apply_outbox(kb.engine, kb.store, clock=lambda: later) == len(CARDIO)
    assert kb.store.fetch(["htn-causes"])[0].response == "Version 2 after the stall."
    finish(kb, stalled, records)  # the stalled worker's stale write lands last ...
    assert kb.store.fetch(["htn-causes"])[0].response != "Version 2 after the stall."
    with kb.engine.connect() as conn:  # ... but it lost its lease, so it queued the ids again
        assert set(outbox.due_ids(conn, [p.id for p in CARDIO], now=utcnow())) == {
            p.id for p in CARDIO
        }
    drain(kb.engine, kb.store)
    assert kb.store.fetch(["htn-causes"])[0].response == "Version 2 after the stall."
    assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean
    assert leases_left(kb) == 0


def test_rows_without_a_sync_status_row_are_still_applied(eventual_kb: KnowledgeBase) -> None:
    kb = eventual_kb
    kb.add(CARDIO)
    with kb.engine.begin() as conn:  # e.g. dropped by a repair while a write was in flight
        conn.execute(sync_status.delete())
    assert drain(kb.engine, kb.store) == len(CARDIO)
    assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean
    with kb.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox_table)).scalar_one() == 0


def test_a_realtime_write_waits_for_a_worker_that_holds_its_id(settings: Settings) -> None:
    with build(settings) as kb:
        kb.add(CARDIO)
        kb.update("htn-causes", response="Held by a worker for a moment.")  # synced
        with kb.engine.begin() as conn:  # a worker holds every id for 0.4 s
            outbox.enqueue(conn, ["htn-causes"], tenant_id=kb.tenant_id, op="upsert", now=utcnow())
        batch = claim(kb)

        def worker_finishes() -> None:
            time.sleep(0.4)
            finish(kb, batch, read(kb, batch))

        thread = threading.Thread(target=worker_finishes)
        thread.start()
        kb.update("htn-causes", response="Written while the worker held it.")
        thread.join()
        assert kb.store.fetch(["htn-causes"])[0].response == "Written while the worker held it."
        store_matches_relational(kb)


def test_a_realtime_write_says_when_a_worker_keeps_holding_its_id(settings: Settings) -> None:
    with build(settings) as kb:
        kb.add(CARDIO)
        with kb.engine.begin() as conn:
            outbox.enqueue(conn, ["htn-causes"], tenant_id=kb.tenant_id, op="upsert", now=utcnow())
        claim(kb)  # a worker that holds the id and hangs
        kb.writer.wait_s = 0.3
        with pytest.raises(SyncPending, match="sync worker still holds") as caught:
            kb.update("htn-causes", response="Written while a worker hangs.")
        assert "htn-causes" in caught.value.pending_ids
        later = utcnow() + timedelta(seconds=60)  # its lease runs out; anyone can apply it
        assert apply_outbox(kb.engine, kb.store, clock=lambda: later) >= 1
        store_matches_relational(kb)


def test_repair_waits_for_a_worker_holding_a_drifting_id(eventual_kb: KnowledgeBase) -> None:
    kb = eventual_kb
    kb.add(CARDIO)
    drain(kb.engine, kb.store)
    kb.store.delete(["htn-causes"])  # drift: missing from the vector store
    kb.update("htn-causes", response="Salt, age and genes raise blood pressure.")
    held = claim(kb)  # a worker holds the id, mid-apply
    records = read(kb, held)
    reports: list[RepairReport] = []
    repairing = threading.Thread(
        target=lambda: reports.append(repair(kb.engine, kb.store, tenant_id=kb.tenant_id))
    )
    repairing.start()
    time.sleep(0.5)
    assert repairing.is_alive(), "repair must wait for the worker's lease, not write past it"
    finish(kb, held, records)
    repairing.join(timeout=30)
    assert reports and reports[0].after.clean
    assert leases_left(kb) == 0
    store_matches_relational(kb)
