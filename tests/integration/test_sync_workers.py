"""Several ``medkb worker`` processes draining one outbox while writer processes add, update
and delete — on SQLite and on the real PostgreSQL, with one worker ``kill -9``-ed mid-run —
and a killed worker's leases taken over once they expire.

Afterwards ``sync verify`` finds no drift: no id holds stale content, no deleted pair came
back, nothing a writer stored is missing, and no lease or outbox row is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.models import QAMetadata, QAPair
from medkb.stores.relational import outbox
from medkb.stores.relational.schema import sync_status
from medkb.sync.apply import apply_outbox, utcnow
from medkb.sync.verify import verify
from tests.integration.test_kb import CARDIO, OTHER, store_matches_relational

HOT = [f"hot-{n}" for n in range(4)]

WRITER = """
import json, random, sys
import sqlalchemy as sa
from medkb.app import build
from medkb.config import Settings
from medkb.errors import WriteConflict
from medkb.models import QAMetadata, QAPair

prefix, steps, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hot = sys.argv[4].split(",")
rng, topics = random.Random(seed), ["asthma", "diabetes", "gout", "migraine", "anaemia"]
alive, deleted, retries = set(), set(), 0

def pair(qa_id, n):
    topic = topics[n % len(topics)]
    return QAPair(
        id=qa_id,
        question=f"How is {topic} managed in case {qa_id}?",
        response=f"Version {n} of {qa_id}: {topic} care as written by {prefix}.",
        metadata=QAMetadata(category=topic.title()),
    )

def attempt(action):
    global retries
    for _ in range(8):
        try:
            return action()
        except (sa.exc.DBAPIError, WriteConflict):  # two writers linking to one pair
            retries += 1
    raise RuntimeError("a write kept failing")

with build(Settings()) as kb:
    for step in range(steps):
        roll = rng.random()
        if roll < 0.45 or not alive:
            qa_id = f"{prefix}-{step}"
            attempt(lambda: kb.add([pair(qa_id, step)]))
            alive.add(qa_id)
        elif roll < 0.8:
            qa_id = rng.choice(sorted(alive) + hot)
            attempt(lambda: kb.add([pair(qa_id, step)]))
        else:
            qa_id = rng.choice(sorted(alive))
            attempt(lambda: kb.delete(qa_id))
            alive.discard(qa_id)
            deleted.add(qa_id)
print(json.dumps({"alive": sorted(alive), "deleted": sorted(deleted), "retries": retries}))
"""

HOLDER = """
import sys, time
from medkb.app import build
from medkb.config import Settings
from medkb.stores.relational import outbox
from medkb.sync.apply import utcnow

with build(Settings()) as kb:
    with kb.engine.begin() as conn:
        batch = outbox.claim(conn, now=utcnow(), lease_s=float(sys.argv[1]))
    print("held", len(batch.ids), flush=True)
    time.sleep(600)
"""


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a ``medkb`` process needs to open the test's knowledge base."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDKB_")}
    env.update(
        MEDKB_HOME=str(settings.home),
        MEDKB_DATABASE_URL=settings.resolved_database_url(),
        MEDKB_EMBEDDER="static",
        MEDKB_CACHE_DIR=str(settings.cache_dir),
        MEDKB_SYNC_STRATEGY="eventual",
        **extra,
    )
    return env


def start_worker(env: dict[str, str], name: str, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "medkb.cli", "worker", "--json", "--name", name, *args]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def stop_worker(process: subprocess.Popen[str]) -> dict[str, Any]:
    """SIGTERM a worker, as an operator would; return its JSON summary."""
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    summary: dict[str, Any] = json.loads(out)
    return summary


def worker_once(env: dict[str, str]) -> dict[str, Any]:
    """``medkb worker --once --json``: apply what is due now, then exit."""
    done = subprocess.run(
        [sys.executable, "-m", "medkb.cli", "worker", "--once", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def wait_for_empty_outbox(kb: KnowledgeBase, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with kb.engine.connect() as conn:
            if outbox.pending_count(conn) == 0:
                return
        assert time.monotonic() < deadline, "the workers did not drain the outbox"
        time.sleep(0.2)


def assert_fully_synced(kb: KnowledgeBase) -> None:
    """Zero drift, every id recorded as synced, no lease held, no outbox row left."""
    report = verify(kb.engine, kb.store, tenant_id=kb.tenant_id)
    assert (report.missing, report.extra, report.stale) == ([], [], [])
    store_matches_relational(kb)
    with kb.engine.connect() as conn:
        rows = conn.execute(
            sa.select(sync_status.c.qa_id, sync_status.c.state, sync_status.c.lease_owner)
        ).all()
        assert outbox.pending_count(conn) == 0
    assert {row.qa_id for row in rows} == set(kb.store.ids(kb.tenant_id))
    assert {(row.state, row.lease_owner) for row in rows} <= {("synced", None)}


@pytest.fixture
def shared_kb(settings: Settings) -> Iterator[KnowledgeBase]:
    """An eventual-mode knowledge base other processes write to, with a few hot pairs."""
    settings = settings.model_copy(update={"sync_strategy": "eventual"})
    with build(settings) as kb:
        kb.add(
            [
                QAPair(
                    id=qa_id,
                    question=f"What is hot topic {qa_id}?",
                    response=f"The first version of {qa_id}.",
                    metadata=QAMetadata(category="Hot"),
                )
                for qa_id in HOT
            ]
        )
        yield kb


@pytest.mark.slow
def test_workers_drain_concurrent_writes_without_drift(shared_kb: KnowledgeBase) -> None:
    kb = shared_kb
    postgres = kb.engine.dialect.name == "postgresql"
    env = environment(kb.settings, MEDKB_SYNC__INTERVAL_S="0.05", MEDKB_SYNC__LEASE_S="3")
    workers = [start_worker(env, f"w{n}") for n in range(3 if postgres else 2)]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, f"wr{n}", "60", str(n), ",".join(HOT)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    if postgres:  # one worker dies mid-run; its leases expire and the others take over
        time.sleep(8)
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].communicate(timeout=60)
    reports = []
    for writer in writers:
        out, err = writer.communicate(timeout=600)
        assert writer.returncode == 0, err
        reports.append(json.loads(out))
    wait_for_empty_outbox(kb)
    summaries = [stop_worker(w) for w in workers[1 if postgres else 0 :]]
    assert sum(s["applied"] for s in summaries) > 0
    # A worker that overran its 3 s lease on this loaded machine re-queues its ids when it
    # completes, possibly after the outbox looked empty and while it was being stopped: the
    # row waits for the next worker, as in production. One more pass applies it.
    worker_once(env)
    assert_fully_synced(kb)
    stored = set(kb.store.ids(kb.tenant_id))
    for report in reports:
        assert set(report["alive"]) <= stored  # nothing a writer stored is lost
        assert not set(report["deleted"]) & stored  # no deleted pair came back
    assert set(HOT) <= stored


@pytest.mark.slow
def test_a_killed_workers_leases_expire_and_another_worker_finishes(
    shared_kb: KnowledgeBase,
) -> None:
    kb = shared_kb
    kb.add(CARDIO + OTHER)
    env = environment(kb.settings)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "4"], env=env, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    line = holder.stdout.readline()
    assert line.startswith("held ") and int(line.split()[1]) == len(HOT + CARDIO + OTHER), line
    held_at, killed_at = time.monotonic(), utcnow()
    os.kill(holder.pid, signal.SIGKILL)
    holder.communicate(timeout=60)
    # Within its 4 s lease the dead worker's ids stay held: nobody else applies them.
    assert apply_outbox(kb.engine, kb.store, clock=lambda: killed_at) == 0
    with kb.engine.connect() as conn:
        owners = conn.execute(sa.select(sync_status.c.lease_owner).distinct()).scalars().all()
    assert len(owners) == 1 and owners[0] is not None
    time.sleep(max(0.0, 4.5 - (time.monotonic() - held_at)))
    assert worker_once(env)["applied"] == len(HOT + CARDIO + OTHER)
    assert_fully_synced(kb)


def test_an_unknown_strategy_is_refused_with_the_choices(settings: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "medkb.cli", "worker", "--once", "--strategy", "hourly"],
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 65
    assert "eventual or batch" in done.stderr
