"""Streaming ingestion with real faults, run as a user would: ``medkb produce`` and
``medkb worker --bus`` processes on a real home, one of them killed with SIGKILL in the
middle of a batch and the next one stopped with SIGTERM, and poison lines among good ones."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from medkb.app import build
from medkb.cli.main import app
from medkb.config import Settings, StreamSettings
from medkb.stores.relational.schema import stream_claims
from medkb.stream.bus.db import DbBus
from medkb.stream.consumer import StreamWorker
from tests.e2e.test_cli import medkb
from tests.integration.stream_helpers import behaviour_event, counts, qa_event

VISIBILITY_S = 2.0


def _env(home: Path, cache: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "MEDKB_HOME": str(home),
        "MEDKB_EMBEDDER": "static",
        "MEDKB_CACHE_DIR": str(cache),
        "MEDKB_STREAM__VISIBILITY_S": str(VISIBILITY_S),
        "MEDKB_STREAM__BLOCK_S": "0.2",
        "COLUMNS": "200",
    }
    env.pop("MEDKB_DATABASE_URL", None)
    env.pop("MEDKB_VECTOR_URL", None)
    return env


def cli(home: Path, cache: Path, *args: str) -> Result:
    """``medkb ARGS`` in this process (start-up costs seconds on a busy machine); only
    the workers, which are killed and signalled, run as real processes."""
    env = {k: v for k, v in _env(home, cache).items() if k.startswith("MEDKB_")}
    unset = {"MEDKB_DATABASE_URL": None, "MEDKB_VECTOR_URL": None}
    return CliRunner().invoke(app, list(args), env={**env, **unset})


def _start_worker(home: Path, cache: Path, name: str, *extra: str) -> subprocess.Popen[str]:
    args = ["worker", "--bus", "db", "--topic", "t", "--group", "g", "--name", name]
    return subprocess.Popen(
        [sys.executable, "-m", "medkb.cli", *args, "--batch-size", "10", *extra],
        env=_env(home, cache),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _unacked(engine: sa.Engine, consumer: str) -> list[int]:
    with engine.connect() as conn:
        query = sa.select(stream_claims.c.event_id).where(
            stream_claims.c.consumer == consumer, stream_claims.c.acked_at.is_(None)
        )
        return sorted(conn.execute(query).scalars())


@pytest.fixture
def kb_home(tmp_path: Path, embed_cache: Path) -> Path:
    home = tmp_path / "home"
    with build(Settings(home=home, embedder="static", cache_dir=embed_cache)):
        pass  # created and migrated, so the test can read it while workers run
    return home


def _wait_for_applied(engine: sa.Engine, worker: subprocess.Popen[str], *, at_least: int) -> None:
    deadline = time.monotonic() + 120
    while counts(engine)["applied"] < at_least:
        assert worker.poll() is None, worker.communicate()
        assert time.monotonic() < deadline, "the worker applied nothing in 120 s"
        time.sleep(0.02)


def _stop_mid_batch(engine: sa.Engine, worker: subprocess.Popen[str]) -> list[int]:
    """Freeze the worker at a moment it holds an unacked batch; return that batch."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        worker.send_signal(signal.SIGSTOP)
        held = _unacked(engine, "w1")
        if held:
            return held
        worker.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError("never caught the worker holding a batch")


def test_a_batch_killed_mid_way_is_redelivered_and_applied_once_and_sigterm_stops_cleanly(
    kb_home: Path, embed_cache: Path, tmp_path: Path
) -> None:
    qa, seen = 50, 50
    events = [qa_event(n) if n % 2 else behaviour_event(n) for n in range(qa + seen)]
    produced = cli(
        kb_home, embed_cache, "produce", str(_write(tmp_path / "e.jsonl", events)), "--topic", "t"
    )
    assert produced.exit_code == 0, produced.output
    with build(Settings(home=kb_home, embedder="static", cache_dir=embed_cache)) as kb:
        first = _start_worker(kb_home, embed_cache, "w1")
        try:
            _wait_for_applied(kb.engine, first, at_least=1)
            held = _stop_mid_batch(kb.engine, first)
            first.kill()  # SIGKILL: no handler, no ack, no cleanup
        finally:
            first.kill()
            first.communicate()
        assert first.returncode == -signal.SIGKILL
        done_before = counts(kb.engine)["applied"]
        assert done_before < qa + seen
        time.sleep(VISIBILITY_S + 0.5)  # the dead worker's batch becomes deliverable again
        second = _start_worker(kb_home, embed_cache, "w2", "--json")
        try:
            _wait_for_applied(kb.engine, second, at_least=qa + seen)
            second.send_signal(signal.SIGTERM)  # a graceful stop: the batch in hand, then exit
            out, err = second.communicate(timeout=60)
        finally:
            second.kill()
        assert second.returncode == 0, err
        stats = json.loads(out)
        assert stats["dead_lettered"] == 0 and stats["errors"] == 0
        assert stats["applied"] + stats["skipped"] == stats["consumed"]
        with kb.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    stream_claims.c.event_id,
                    stream_claims.c.attempts,
                    stream_claims.c.consumer,
                    stream_claims.c.acked_at,
                )
            ).all()
        by_id = {row.event_id: row for row in rows}
        assert len(rows) == qa + seen and all(row.acked_at is not None for row in rows)
        for event_id in held:  # the killed batch went to the survivor, delivered twice
            assert by_id[event_id].consumer == "w2" and by_id[event_id].attempts == 2
        assert counts(kb.engine) == {"applied": qa + seen, "behaviour": seen}
        assert kb.stats()["relational_pairs"] == qa
        report = kb.verify()
        assert not report.missing and not report.extra and not report.stale


def test_poison_lines_go_to_the_dead_letters_and_the_stream_keeps_flowing(
    kb_home: Path, embed_cache: Path, tmp_path: Path
) -> None:
    poison = ["{broken", json.dumps({"id": "p1", "type": "qa.upserted", "payload": {"id": "x"}})]
    lines = [qa_event(1), poison[0], behaviour_event(2), poison[1], qa_event(3)]
    path = _write(tmp_path / "mixed.jsonl", lines)
    refused = cli(kb_home, embed_cache, "produce", str(path), "--topic", "t")
    assert refused.exit_code == 65 and "line 2" in refused.output and "line 4" in refused.output
    sent = cli(kb_home, embed_cache, "produce", str(path), "--topic", "t", "--raw")
    assert sent.exit_code == 0, sent.output
    run = medkb(
        kb_home,
        embed_cache,
        "worker",
        "--bus",
        "db",
        "--topic",
        "t",
        "--group",
        "g",
        "--once",
        "--json",
    )
    stats = json.loads(run.stdout)
    assert (stats["applied"], stats["dead_lettered"]) == (3, 2)
    listed = json.loads(cli(kb_home, embed_cache, "dlq", "list", "--topic", "t", "--json").output)
    assert [d["payload"] for d in listed] == poison
    assert "Not JSON" in listed[0]["reason"] and "question" in listed[1]["reason"]
    shown = json.loads(
        cli(kb_home, embed_cache, "dlq", "show", listed[0]["id"], "--topic", "t").output
    )
    assert shown["origin"]["consumer"] and shown["origin"]["group"] == "g"
    fixed = tmp_path / "fixed.json"
    fixed.write_text(qa_event(4, event_id="p1"), encoding="utf-8")
    still_bad = tmp_path / "bad.json"
    still_bad.write_text(poison[1], encoding="utf-8")
    dead_id = listed[1]["id"]
    bad = cli(
        kb_home, embed_cache, "dlq", "replay", dead_id, "--topic", "t", "--fix", str(still_bad)
    )
    assert bad.exit_code == 65 and "question" in bad.output
    replay = cli(
        kb_home, embed_cache, "dlq", "replay", dead_id, "--topic", "t", "--fix", str(fixed)
    )
    assert replay.exit_code == 0, replay.output
    with build(Settings(home=kb_home, embedder="static", cache_dir=embed_cache)) as kb:
        settings = StreamSettings(block_s=0.05)
        again = StreamWorker(kb=kb, bus=DbBus(kb.engine), topic="t", group="g", settings=settings)
        assert again.run(until_idle=True).applied == 1
        assert kb.get("stream-0004")["question"]
    remaining = json.loads(
        cli(kb_home, embed_cache, "dlq", "list", "--topic", "t", "--json").output
    )
    assert [d["payload"] for d in remaining] == [poison[0]]
    gone = cli(kb_home, embed_cache, "dlq", "show", dead_id, "--topic", "t")
    assert gone.exit_code == 66 and "dlq list" in gone.output


def test_a_worker_serves_health_on_the_host_asked_and_refuses_a_taken_port(
    kb_home: Path, embed_cache: Path
) -> None:
    args = ["worker", "--bus", "db", "--topic", "t", "--group", "g", "--once"]
    served = cli(kb_home, embed_cache, *args, "--health-host", "localhost", "--health-port", "0")
    assert served.exit_code == 0, served.output
    unwrapped = "".join(served.output.split())  # rich wraps the line at the terminal width
    assert "/health and /metrics on http://localhost:".replace(" ", "") in unwrapped
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        refused = cli(kb_home, embed_cache, *args, "--health-port", port)
    assert refused.exit_code == 78, refused.output
    wanted = f"Cannot serve /health and /metrics on 127.0.0.1:{port}"
    assert wanted.replace(" ", "") in "".join(refused.output.split())
