"""A long-running ``medkb worker`` follows the collection ``medkb reembed`` switches to
(issue 8, item 8): it opened its vector store on the collection active at start, and after
the switch its writes must land in the new active collection, not the retired one."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from medkb.app import KnowledgeBase, build, collection_opener
from medkb.config import Settings
from medkb.relocate.reembed import reembed
from medkb.stores.relational.schema import outbox
from medkb.sync.verify import verify
from medkb.sync.worker import Worker
from tests.integration.test_reembed import TOPICS, pair


def drained(kb: KnowledgeBase, *, timeout_s: float = 60.0) -> bool:
    """Wait until the outbox is empty (the worker applied everything)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with kb.engine.connect() as conn:
            if not conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one():
                return True
        time.sleep(0.1)
    return False


def test_a_running_worker_writes_to_the_collection_reembed_switched_to(
    tmp_path: Path, embed_cache: Path
) -> None:
    settings = Settings(
        home=tmp_path / "home", embedder="static", cache_dir=embed_cache, sync_strategy="eventual"
    )
    with build(settings) as old:
        worker = Worker(
            engine=old.engine,
            store=old.store,
            settings=old.settings.sync.model_copy(update={"interval_s": 0.05}),
            opener=collection_opener(old),
        )
        worker.start()
        try:
            old.add([pair(n, topic, text) for n, (topic, text) in enumerate(TOPICS[:4])])
            assert drained(old)
            report = reembed(settings, embedder="minilm")
            assert report.clean and report.collection == "medical_knowledge_base_g2"

            new_settings = settings.model_copy(update={"embedder": "minilm"})
            with build(new_settings) as new:
                new.add([pair(8, "shingles", "A painful blistering rash on one side.")])
                assert drained(new)
            assert worker.target.collection == "medical_knowledge_base_g2"
        finally:
            worker.close()
        assert worker.stats.errors == 0, worker.stats.last_error

    with build(new_settings) as new:
        assert "tiny-08" in set(new.store.ids())
        assert verify(new.engine, new.store, tenant_id=new.tenant_id).clean
    assert not (settings.home / "vectors").exists()  # nothing written to the retired one
