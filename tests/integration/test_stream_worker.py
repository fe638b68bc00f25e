"""The stream worker in process: every event type applied through the knowledge base,
redeliveries applied once, poison to the dead letters while the stream flows, an open
circuit leaving events on the bus until the dependency is back, and a Milvus server
stopped and restarted under the worker."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr

from medkb.app import KnowledgeBase, build, guard_dependencies
from medkb.config import Settings, StreamSettings
from medkb.errors import NotFound
from medkb.resilience.breaker import State
from medkb.stores.objects.local import LocalObjectStore
from medkb.stream.bus.base import Bus
from medkb.stream.bus.db import DbBus
from medkb.stream.consumer import StreamWorker
from medkb.stream.events import make_event
from tests.fixtures_servers import free_port, running_milvus_server
from tests.integration.stream_helpers import behaviour_event, counts, qa_event

FAST = StreamSettings(batch_size=50, visibility_s=1.0, block_s=0.05, max_deliveries=3)


@pytest.fixture
def bus(kb: KnowledgeBase) -> Iterator[Bus]:
    """The ``db`` bus on the knowledge base's own database."""
    yield DbBus(kb.engine, visibility_s=FAST.visibility_s)


def _worker(kb: KnowledgeBase, bus: Bus, **kwargs: Any) -> StreamWorker:
    return StreamWorker(kb=kb, bus=bus, topic="t", group="g", settings=FAST, name="w1", **kwargs)


def test_every_event_type_is_applied_through_the_knowledge_base(
    kb: KnowledgeBase, bus: Bus
) -> None:
    LocalObjectStore(kb.settings.resolved_object_dir()).put(
        "uploads/faq.md", b"# Asthma\n\n## What is asthma?\n\nA long-term disease of the airways.\n"
    )
    logged = kb.query("placeholder question about nothing", mode="keyword")
    events = [
        qa_event(1),
        qa_event(2),
        qa_event(3),
        json.dumps(make_event("qa.deleted", {"id": "stream-0002"}, id="del-2")),
        behaviour_event(1),
        behaviour_event(2),
        json.dumps(
            make_event(
                "feedback.given", {"query_log_id": logged.query_log_id, "rating": 4}, id="fb-1"
            )
        ),
        json.dumps(make_event("document.uploaded", {"key": "uploads/faq.md"}, id="doc-1")),
    ]
    bus.publish("t", events)
    stats = _worker(kb, bus).run(until_idle=True)
    assert (stats.consumed, stats.applied, stats.dead_lettered, stats.errors) == (8, 8, 0, 0)
    assert kb.get("stream-0001")["metadata"]["category"] == "Streaming"
    with pytest.raises(NotFound):
        kb.get("stream-0002")
    hits = kb.query("treatment for condition number 3", top_k=3, mode="dense").hits
    found = {h.pair.id for h in hits}  # by the vector store
    assert {"stream-0001", "stream-0003"} <= found and "stream-0002" not in found
    assert kb.stats()["vector_pairs"] == kb.stats()["relational_pairs"]
    assert any("faq.md" in d["document"] for d in kb.documents())
    assert counts(kb.engine) == {"applied": 8, "behaviour": 2}
    assert bus.consume("t", group="g", consumer="w1", count=10) == []  # all acked


def test_a_redelivered_or_repeated_event_is_applied_once(kb: KnowledgeBase, bus: Bus) -> None:
    bus.publish("t", [qa_event(1), behaviour_event(1)])
    assert _worker(kb, bus).run(until_idle=True).applied == 2
    # The same events again (a producer retry, or a redelivery after a crash between the
    # commit and the ack), one of them now with other content: nothing changes.
    bus.publish("t", [qa_event(1, question="Changed by a replayed event?"), behaviour_event(1)])
    stats = _worker(kb, bus).run(until_idle=True)
    assert (stats.applied, stats.skipped) == (0, 2)
    assert kb.get("stream-0001")["question"].startswith("What is the treatment")
    assert counts(kb.engine) == {"applied": 2, "behaviour": 1}


def test_poison_goes_to_the_dead_letters_and_the_stream_keeps_flowing(
    kb: KnowledgeBase, bus: Bus
) -> None:
    poison = [
        "{not json",
        json.dumps(make_event("qa.exploded", {}, id="p-type")),
        json.dumps(make_event("qa.upserted", {"id": "x", "question": ""}, id="p-payload")),
        qa_event(9, event_id="p-long", response="x" * 200_001),
        json.dumps(make_event("feedback.given", {"query_log_id": 999, "rating": 5}, id="p-fb")),
        json.dumps(make_event("document.uploaded", {"key": "uploads/none.md"}, id="p-doc")),
    ]
    bus.publish("t", [qa_event(1), *poison, qa_event(2), behaviour_event(3)])
    stats = _worker(kb, bus).run(until_idle=True)
    assert (stats.applied, stats.dead_lettered, stats.errors) == (3, 6, 0)
    dead = {d.payload: d for d in bus.dead_letters("t")}
    assert set(dead) == set(poison)  # the original bodies, unchanged
    assert "Not JSON" in dead["{not json"].reason
    assert "Unknown event type 'qa.exploded'" in dead[poison[1]].reason
    assert "question" in dead[poison[2]].reason and "response" in dead[poison[2]].reason
    assert "FieldTooLong" in dead[poison[3]].reason and "200,000" in dead[poison[3]].reason
    assert "NotFound" in dead[poison[4]].reason and "query log 999" in dead[poison[4]].reason
    assert "NotFound" in dead[poison[5]].reason and "uploads/none.md" in dead[poison[5]].reason
    origin = dead[poison[3]].origin
    assert origin["topic"] == "t" and origin["group"] == "g" and origin["consumer"] == "w1"
    assert origin["event_id"] == "p-long" and origin["attempts"] == 1
    assert kb.get("stream-0001") and kb.get("stream-0002")
    with pytest.raises(NotFound):
        kb.get("stream-0009")


class FlakyEmbedder:
    """The real embedder behind a switch that makes it fail like an unreachable server."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.down, self.calls = inner, False, 0
        self.model_id, self.dimension = inner.model_id, inner.dimension

    def embed(self, texts: Any) -> np.ndarray:
        self.calls += 1
        if self.down:
            raise ConnectionError("embedding server refused the connection")
        return self.inner.embed(texts)


def test_an_open_circuit_leaves_events_on_the_bus_until_the_dependency_returns(
    kb: KnowledgeBase, bus: Bus
) -> None:
    flaky = FlakyEmbedder(kb.embedder)
    tuning = kb.settings.resilience.model_copy(
        update={"breaker_failures": 2, "breaker_reset_s": 0.5}
    )
    settings = kb.settings.model_copy(update={"resilience": tuning})
    base = KnowledgeBase(
        settings, engine=kb.engine, store=kb.store, embedder=flaky, owns_stores=False
    )
    guarded_kb, breakers = guard_dependencies(base, sleep=lambda _s: None)
    worker = _worker(guarded_kb, bus, breakers=breakers)
    bus.publish("t", [qa_event(n) for n in range(5)])
    flaky.down = True
    while worker.stats.errors < 2:  # the batch fails, is redelivered, fails again
        worker.step()
    assert breakers["embedder"].state is State.OPEN
    calls = flaky.calls
    assert worker.step() == 0 and worker.stats.circuit_waits >= 1  # nothing taken while open
    assert flaky.calls == calls
    assert counts(kb.engine)["applied"] == 0 and kb.stats()["relational_pairs"] == 0
    flaky.down = False
    deadline = time.monotonic() + 60
    while worker.stats.applied < 5 and time.monotonic() < deadline:
        worker.step()  # a trial call once the circuit half-opens, then the redelivery
    assert breakers["embedder"].state is State.CLOSED
    assert worker.stats.applied == 5 and worker.stats.dead_lettered == 0
    assert counts(kb.engine)["applied"] == 5 and kb.stats()["relational_pairs"] == 5
    guarded_kb.close()
    base.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_on_redis_an_abandoned_batch_is_reclaimed_and_poison_dead_lettered(
    kb: KnowledgeBase,
) -> None:
    from medkb.stream.bus.redis import RedisBus
    from tests.contract.bus_backends import REDIS_URL, drop_redis_topic, require_redis, unique_topic

    require_redis()
    bus, topic = RedisBus(REDIS_URL, visibility_s=FAST.visibility_s), unique_topic()
    try:
        bus.publish(topic, [qa_event(1), "{bad", behaviour_event(2), qa_event(3)])
        taken = bus.consume(topic, group="g", consumer="died", count=10)  # never acked
        assert len(taken) == 4
        time.sleep(FAST.visibility_s + 0.3)
        worker = StreamWorker(kb=kb, bus=bus, topic=topic, group="g", settings=FAST, name="w1")
        stats = worker.run(until_idle=True)
        assert (stats.consumed, stats.applied, stats.dead_lettered) == (4, 3, 1)
        (dead,) = bus.dead_letters(topic)
        assert dead.payload == "{bad" and dead.origin["attempts"] == 2  # XAUTOCLAIMed
        assert counts(kb.engine) == {"applied": 3, "behaviour": 1}
        assert bus.consume(topic, group="g", consumer="w1", count=10) == []
    finally:
        drop_redis_topic(topic)
        bus.close()


def _get(url: str) -> tuple[int, str]:
    from urllib.error import HTTPError
    from urllib.request import urlopen

    try:
        with urlopen(url) as answer:
            return answer.status, answer.read().decode()
    except HTTPError as refused:
        with refused:
            return refused.code, refused.read().decode()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_worker_serves_its_health_and_metrics(kb: KnowledgeBase, bus: Bus) -> None:
    from medkb.resilience.breaker import CircuitBreaker
    from medkb.stream.health import HealthServer

    breaker = CircuitBreaker("embedder", failures=1, reset_s=60)
    worker = _worker(kb, bus, breakers={"embedder": breaker})
    bus.publish("t", [behaviour_event(1), "{bad"])
    worker.run(until_idle=True)
    server = HealthServer(worker)
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert _get(f"{base}/health/live") == (200, '{"ok": true}')
        status, body = _get(f"{base}/health/ready")
        assert status == 200
        assert json.loads(body) == {
            "ok": True,
            "bus": {"ok": True},
            "breakers": {"embedder": "closed"},
        }
        assert _get(f"{base}/health/bus") == (200, '{"ok": true}')
        metrics = _get(f"{base}/metrics")[1]
        labels = 'topic="t",group="g",worker="w1"'
        assert f"medkb_stream_applied_total{{{labels}}} 1" in metrics
        assert f"medkb_stream_dead_lettered_total{{{labels}}} 1" in metrics
        assert f'medkb_circuit_state{{{labels},dependency="embedder"}} 0' in metrics
        assert 'medkb_dead_letters{topic="t"} 1' in metrics  # counted on the bus
        breaker.failed()  # the circuit opens: not ready, and the metric says so
        status, body = _get(f"{base}/health/ready")
        assert status == 503 and json.loads(body)["breakers"] == {"embedder": "open"}
        assert 'dependency="embedder"} 2' in _get(f"{base}/metrics")[1]
        assert _get(f"{base}/nope")[0] == 404
    finally:
        server.close()


@pytest.mark.milvus
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_vector_store_server_that_stops_under_the_worker_loses_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    """A real Milvus server stops while the worker applies ``qa.upserted`` events, then
    comes back on the same port: the relational store (the system of record) takes every
    event once while the vector store is away, the vector writes wait in the outbox, and
    after the restart the outbox drains and both stores agree."""
    port, data = free_port(), tmp_path / "milvus"
    with running_milvus_server(data, port) as uri:
        kb = build(settings.model_copy(update={"vector_url": SecretStr(uri)}))
        guarded_kb, breakers = guard_dependencies(kb, sleep=lambda _s: None)
        bus = DbBus(kb.engine, visibility_s=FAST.visibility_s)
        worker = _worker(guarded_kb, bus, breakers=breakers)
        bus.publish("t", [qa_event(n) for n in range(5)])
        while worker.stats.applied < 5:
            worker.step()
    try:
        bus.publish("t", [qa_event(n) for n in range(5, 10)])  # the server is down
        while worker.stats.applied < 10 and worker.stats.errors == 0:
            worker.step()
        assert worker.stats.applied == 10 and worker.stats.dead_lettered == 0
        assert counts(kb.engine)["applied"] == 10
        assert kb.sync_status().pending > 0  # the vector writes wait in the outbox
        with running_milvus_server(data, port):
            deadline = time.monotonic() + 60
            while kb.sync_status().pending and time.monotonic() < deadline:
                kb.sync()  # rows retried after their backoff
                time.sleep(0.2)
            report = kb.verify()
            assert report.clean and report.vector_count == report.relational_count == 10
            hits = guarded_kb.query("treatment for condition number 7", log=False).hits
            assert "stream-0007" in {hit.pair.id for hit in hits}
    finally:
        guarded_kb.close()
        kb.close()
