"""Streaming on the ``kafka`` bus with real faults: a ``medkb worker`` process killed with
SIGKILL while it holds a batch, poison events among good ones, and the broker (Tansu)
stopped and started again on its port while a worker consumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from medkb.app import build
from medkb.cli.main import app
from medkb.config import Settings, StreamSettings
from medkb.errors import StoreError
from medkb.stores.relational.schema import behaviour_events
from medkb.stream.bus.kafka import KafkaBus
from medkb.stream.consumer import StreamWorker
from tests.fixtures_servers import free_port, running_kafka, tansu_binary, unavailable
from tests.integration.stream_helpers import behaviour_event, counts, qa_event

FAST = StreamSettings(batch_size=10, visibility_s=30, block_s=0.2, max_deliveries=5)


@pytest.fixture
def kb_home(tmp_path: Path, embed_cache: Path) -> Path:
    home = tmp_path / "home"
    with build(Settings(home=home, embedder="static", cache_dir=embed_cache)):
        pass  # created and migrated, so the test can read it while workers run
    return home


def _env(home: Path, cache: Path) -> dict[str, str]:
    env = {**os.environ, "MEDKB_HOME": str(home), "MEDKB_EMBEDDER": "static"}
    env.update({"MEDKB_CACHE_DIR": str(cache), "MEDKB_STREAM__BLOCK_S": "0.2"})
    env.pop("MEDKB_DATABASE_URL", None)
    env.pop("MEDKB_VECTOR_URL", None)
    return env


def _worker(home: Path, cache: Path, url: str, topic: str, name: str, *extra: str) -> Any:
    args = ["worker", "--bus", url, "--topic", topic, "--group", "g", "--name", name]
    return subprocess.Popen(
        [sys.executable, "-m", "medkb.cli", *args, "--batch-size", "10", *extra],
        env=_env(home, cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _offsets(url: str, topic: str, group: str) -> int:
    """The sum over the topic's partitions of ``group``'s committed offsets."""
    from confluent_kafka import Consumer, TopicPartition

    reader = Consumer({"bootstrap.servers": url.removeprefix("kafka://"), "group.id": group})
    try:
        tps = [TopicPartition(topic, p) for p in range(4)]
        return sum(max(tp.offset, 0) for tp in reader.committed(tps, timeout=10))
    finally:
        reader.close()


def _stop_holding_a_batch(url: str, topic: str, worker: subprocess.Popen[str]) -> int:
    """Freeze the worker when it was handed events it has not committed; return how many
    events the group had committed then."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        worker.send_signal(signal.SIGSTOP)
        committed = _offsets(url, topic, "g")
        if _offsets(url, topic, "g.medkb-delivered") > committed > 0:
            return committed
        worker.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError("never caught the worker holding a batch")


def test_a_worker_killed_holding_a_batch_on_kafka_has_it_redelivered_and_applied_once(
    kafka_url: str, kb_home: Path, embed_cache: Path
) -> None:
    topic, total = f"kill-{uuid.uuid4().hex[:8]}", 120
    producer = KafkaBus(kafka_url)
    for start in range(0, total, 10):  # 12 publishes: every partition gets events
        producer.publish(
            topic,
            [qa_event(n) if n % 2 else behaviour_event(n) for n in range(start, start + 10)],
        )
    producer.close()
    with build(Settings(home=kb_home, embedder="static", cache_dir=embed_cache)) as kb:
        first = _worker(kb_home, embed_cache, kafka_url, topic, "w1")
        try:
            committed = _stop_holding_a_batch(kafka_url, topic, first)
            first.kill()  # SIGKILL: no ack, no commit, no leaving the group
        finally:
            first.kill()
            first.communicate()
        assert counts(kb.engine)["applied"] < total
        second = _worker(kb_home, embed_cache, kafka_url, topic, "w2", "--json")
        try:
            deadline = time.monotonic() + 120
            while counts(kb.engine)["applied"] < total:
                assert second.poll() is None, second.communicate()
                assert time.monotonic() < deadline, "the survivor did not catch up in 120 s"
                time.sleep(0.05)
            while _offsets(kafka_url, topic, "g") < total:  # its last acks
                assert time.monotonic() < deadline
                time.sleep(0.05)
            second.send_signal(signal.SIGTERM)
            out, err = second.communicate(timeout=60)
        finally:
            second.kill()
        assert second.returncode == 0, err
        stats = json.loads(out)
        # The survivor took everything past the committed offsets: the held batch again.
        assert stats["consumed"] == total - committed
        assert stats["dead_lettered"] == 0 and stats["errors"] == 0
        assert counts(kb.engine) == {"applied": total, "behaviour": total // 2}
        assert kb.stats()["relational_pairs"] == total // 2
        report = kb.verify()
        assert not report.missing and not report.extra and not report.stale


def test_poison_on_kafka_goes_to_its_dlq_topic_and_the_stream_keeps_flowing(
    kafka_url: str, kb_home: Path, embed_cache: Path, tmp_path: Path
) -> None:
    topic = f"poison-{uuid.uuid4().hex[:8]}"
    poison = ["{broken", json.dumps({"id": "p1", "type": "qa.upserted", "payload": {"id": "x"}})]
    bus = KafkaBus(kafka_url)
    bus.publish(topic, [qa_event(1), poison[0], behaviour_event(2), poison[1], qa_event(3)])
    with build(Settings(home=kb_home, embedder="static", cache_dir=embed_cache)) as kb:
        worker = StreamWorker(kb=kb, bus=bus, topic=topic, group="g", settings=FAST)
        stats = worker.run(until_idle=True)
        assert (stats.applied, stats.dead_lettered) == (3, 2)
        env = {"MEDKB_HOME": str(kb_home), "MEDKB_EMBEDDER": "static"}
        dlq = ["dlq", "list", "--bus", kafka_url, "--topic", topic, "--json"]
        listed = json.loads(CliRunner().invoke(app, dlq, env=env).output)
        assert [d["payload"] for d in listed] == poison
        assert "Not JSON" in listed[0]["reason"] and "question" in listed[1]["reason"]
        origin = listed[1]["origin"]
        assert (origin["topic"], origin["group"]) == (topic, "g")
        assert origin["bus_id"].split(":")[0].isdigit()  # PARTITION:OFFSET on the topic
        fixed = tmp_path / "fixed.json"
        fixed.write_text(qa_event(4, event_id="p1"), encoding="utf-8")
        replay = ["dlq", "replay", listed[1]["id"], "--bus", kafka_url, "--topic", topic]
        done = CliRunner().invoke(app, [*replay, "--fix", str(fixed)], env=env)
        assert done.exit_code == 0, done.output
        assert worker.run(until_idle=True).applied == 4
        assert kb.get("stream-0004")["question"]
        remaining = json.loads(CliRunner().invoke(app, dlq, env=env).output)
        assert [d["payload"] for d in remaining] == [poison[0]]
    bus.close()


def _wait(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 120
    while not done():
        assert time.monotonic() < deadline, f"{what} did not happen in 120 s"
        time.sleep(0.05)


def _items(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(behaviour_events.c.item_id)).scalars())


def test_a_broker_restarted_under_load_loses_nothing_the_worker_acked(
    kb_home: Path, embed_cache: Path, tmp_path: Path
) -> None:
    """Tansu keeps topics in memory: a restart loses the events it held and the group's
    offsets. What must hold: the worker survives the outage, its bus reports it, nothing
    it acked is lost from the stores, and events sent after the restart are applied."""
    try:
        tansu_binary()
    except RuntimeError as exc:
        unavailable(f"cannot start the Tansu Kafka broker: {exc}")
    port, topic, log = free_port(), "load", tmp_path / "tansu.log"
    broker = ExitStack()
    url = broker.enter_context(running_kafka(port, log=log))
    producer, bus = KafkaBus(url), KafkaBus(url)
    with build(Settings(home=kb_home, embedder="static", cache_dir=embed_cache)) as kb:
        worker = StreamWorker(kb=kb, bus=bus, topic=topic, group="g", settings=FAST)
        runner = threading.Thread(target=worker.run)
        runner.start()
        try:
            for start in range(0, 300, 10):
                producer.publish(topic, [behaviour_event(n) for n in range(start, start + 10)])
            _wait(lambda: counts(kb.engine)["behaviour"] >= 20, "the first events applied")
            broker.close()  # the broker goes away under load
            before = _items(kb.engine)
            with pytest.raises(StoreError, match="unreachable"):
                bus.ping()
            with pytest.raises(StoreError, match="did not take 1 of 1"):
                producer.publish(topic, [behaviour_event(999)])
            assert runner.is_alive()  # the worker waits for the bus; it does not crash
            broker.enter_context(running_kafka(port, log=log))  # same port, empty memory
            after_restart = [behaviour_event(n) for n in range(1000, 1050)]
            for start in range(0, 50, 10):
                producer.publish(topic, after_restart[start : start + 10])
            wanted = {f"item-{n}" for n in range(1000, 1050)}
            _wait(lambda: wanted <= _items(kb.engine), "the events sent after the restart")
            bus.ping()
        finally:
            worker.stop()
            runner.join()
            broker.close()
            producer.close()
            bus.close()
        assert before <= _items(kb.engine)  # nothing the worker acked was lost
        assert worker.stats.dead_lettered == 0
