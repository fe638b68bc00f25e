"""The ``eventual`` and ``batch`` strategies with an in-process :class:`Worker`.

``batch`` waits for its row or age threshold; ``eventual`` keeps committing writes while a
real Milvus server is stopped, and its worker catches up once the server is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from medkb.app import KnowledgeBase, build
from medkb.config import Settings, SyncSettings
from medkb.stores.relational import outbox
from medkb.sync.apply import utcnow
from medkb.sync.verify import status, verify
from medkb.sync.worker import Worker
from tests.fixtures_servers import free_port
from tests.integration.test_kb import store_matches_relational
from tests.integration.test_sync_faults import server_settings, start_milvus, stop
from tests.integration.test_sync_verify import many_pairs


def outbox_rows(kb: KnowledgeBase) -> int:
    with kb.engine.connect() as conn:
        return outbox.pending_count(conn)


def batch_worker(kb: KnowledgeBase, now: list[datetime], *, rows: int) -> Worker:
    """A batch worker at ``rows`` rows or 60 s, whose clock reads ``now[0]``."""
    return Worker(
        engine=kb.engine,
        store=kb.store,
        settings=SyncSettings(batch_rows=rows, batch_seconds=60),
        strategy="batch",
        clock=lambda: now[0],
    )


def test_batch_mode_applies_at_n_rows_or_after_t_seconds(settings: Settings) -> None:
    settings = settings.model_copy(update={"sync_strategy": "batch"})
    pairs = many_pairs(7)
    with build(settings) as kb:
        now = [utcnow()]
        worker = batch_worker(kb, now, rows=6)
        for pair in pairs[:5]:  # five writes, one outbox row each: below the threshold
            kb.add([pair])
        now[0] = utcnow()
        assert outbox_rows(kb) == 5
        assert worker.run(max_seconds=0).applied == 0 and kb.store.count(kb.tenant_id) == 0
        kb.add([pairs[5]])  # the sixth row reaches it
        now[0] = utcnow()
        assert worker.run(max_seconds=0).applied == 6
        assert outbox_rows(kb) == 0 and kb.store.count(kb.tenant_id) == 6

        aging = batch_worker(kb, now, rows=100)
        kb.add([pairs[6]])  # a few rows: applied only once the oldest is 60 s old
        now[0] = utcnow()
        assert aging.run(max_seconds=0).applied == 0 and outbox_rows(kb) > 0
        now[0] = utcnow() + timedelta(seconds=61)
        assert aging.run(max_seconds=0).applied >= 1
        assert outbox_rows(kb) == 0
        store_matches_relational(kb)


def test_once_applies_everything_due_whatever_the_thresholds(settings: Settings) -> None:
    settings = settings.model_copy(update={"sync_strategy": "batch"})
    with build(settings) as kb:
        kb.add(many_pairs(3))
        worker = Worker(engine=kb.engine, store=kb.store, settings=SyncSettings(), strategy="batch")
        assert worker.run(once=True).applied == 3
        assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean


def wait_until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.milvus
@pytest.mark.slow
def test_eventual_writes_commit_while_milvus_is_down_and_the_worker_catches_up(
    tmp_path: Path, embed_cache: Path
) -> None:
    data_dir, port = tmp_path / "milvus", free_port()
    settings = server_settings(tmp_path, embed_cache, port).model_copy(
        update={"sync_strategy": "eventual", "sync": SyncSettings(interval_s=0.1)}
    )
    batch = many_pairs(10)
    server = start_milvus(data_dir, port)
    with build(settings) as writer_kb, build(settings) as worker_kb:
        for kb in (writer_kb, worker_kb):
            kb.store.timeout = 3  # type: ignore[attr-defined]  # fail fast once it is down
        worker = Worker(
            engine=worker_kb.engine, store=worker_kb.store, settings=settings.sync, name="w"
        )
        worker.start()
        try:
            writer_kb.add(batch[:5])
            wait_until(lambda: outbox_rows(writer_kb) == 0, timeout=60)
            stop(server)
            for pair in batch[5:]:
                writer_kb.add([pair])  # commits and returns: no SyncPending in eventual mode
            wait_until(lambda: worker.stats.errors > 0, timeout=60)
            assert status(writer_kb.engine, tenant_id=writer_kb.tenant_id).outbox_rows >= 5
            server = start_milvus(data_dir, port)
            wait_until(lambda: outbox_rows(writer_kb) == 0, timeout=180)
        finally:
            worker.close()
            stop(server)
        server = start_milvus(data_dir, port)
        try:
            report = verify(worker_kb.engine, worker_kb.store, tenant_id=worker_kb.tenant_id)
            assert report.clean and report.vector_count == 10
        finally:
            stop(server)
