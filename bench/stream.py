"""Streaming ingestion: events/s and produced → stored latency of stream events.

For each bus (``db`` on the knowledge base's SQLite file, ``redis`` on the machine's
Redis, ``kafka`` on a Tansu broker this script starts on 127.0.0.1) and each worker
count, a fresh knowledge base (static embedder) and W ``medkb worker --bus …
--batch-size B`` processes in one group, for ``--kind behaviour`` (``behaviour.event``,
stored with the embedding of its description) or ``--kind qa`` (``qa.upserted``: new
pairs, written, embedded, linked and synced as ``kb.add`` does):

1. throughput: ``--events`` events are published first, then the workers drain them;
   events/s = the events committed after the first commit ÷ (last − first commit, from
   ``stream_applied.applied_at``), so process start-up is not counted;
2. latency (``behaviour`` only; a ``qa.upserted`` event carries no time of production):
   with the workers running, this process publishes ``--rate`` events/s for
   ``--seconds`` (one publish call every 50 ms); the payload timestamp is the time just
   before the publish call and latency = ``created_at`` − that timestamp. ``created_at`` is
   taken by the worker just before its commit, so the row is searchable (by similarity,
   user, category, time) a few milliseconds later.

The results go to ``<!-- bench:stream -->`` … ``<!-- /bench -->`` in docs/benchmarks.md.

    nice -n 5 python bench/stream.py --events 10000 --rate 500 --seconds 10
    nice -n 5 python bench/stream.py --database-url postgresql://postgres@127.0.0.1:5432/bench_stream
    nice -n 5 python bench/stream.py --buses kafka --workers 1,2,4
    nice -n 5 python bench/stream.py --kind qa --events 2000 --workers 1,2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from common import (
    END_MARKER,
    ROOT,
    Machine,
    add_common_options,
    add_database_option,
    empty_databases,
    log_line,
    machine_info,
    machine_table,
    table,
    write_section,
)

from medkb.app import build
from medkb.config import Settings
from medkb.stores.relational.schema import behaviour_events, stream_applied
from medkb.stream.bus.registry import open_bus
from medkb.stream.events import make_event

sys.path.insert(0, str(ROOT))
from tests.fixtures_servers import running_kafka

REDIS_URL = "redis://127.0.0.1:6379/0"
#: ``--kind`` → the event type, and what a worker does with one.
EVENT_TYPES = {"behaviour": "behaviour.event", "qa": "qa.upserted"}
WORK = {
    "behaviour": "Each event is stored with the embedding of its description.",
    "qa": "Each event is a new pair: written, embedded (three vectors), linked to its "
    "similar pairs and synced to the local vector index, as `kb.add` does.",
}
#: Events per publish call of the drain run (the kafka bus puts one call on one partition).
PUBLISH_CHUNK = 100


def event(n: int, run: str, at: dt.datetime, kind: str = "behaviour") -> str:
    """Event ``run-n``: a ``behaviour.event`` stamped ``at``, or a new ``qa.upserted`` pair."""
    category = ("cardiology", "diabetes", "oncology", "paediatrics")[n % 4]
    if kind == "qa":
        pair = {
            "id": f"{run}-{n}",
            "question": f"What is the usual treatment for {category} condition number {n}?",
            "response": f"Condition {n} in {category} is treated with rest, fluids, the "
            f"medicines your doctor prescribes and a follow-up visit after {n % 14 + 1} days.",
            "metadata": {"category": category},
        }
        return json.dumps(make_event("qa.upserted", pair, id=f"{run}-{n}"))
    payload = {
        "user_id": f"user-{n % 500}",
        "session_id": f"s-{n % 2000}",
        "event_type": ("view", "click", "buy")[n % 3],
        "item_id": f"item-{n % 5000}",
        "category": category,
        "price": float(n % 100),
        "timestamp": at.isoformat(),
    }
    return json.dumps(make_event("behaviour.event", payload, id=f"{run}-{n}"))


def start_workers(
    home: Path, args: argparse.Namespace, bus: str, topic: str, count: int, database: str | None
) -> list:
    env = {
        **os.environ,
        "MEDKB_HOME": str(home),
        "MEDKB_EMBEDDER": "static",
        "MEDKB_CACHE_DIR": str(args.cache_dir),
        "MEDKB_STREAM__BLOCK_S": "0.05",
        "PYTHONPATH": str(ROOT / "src"),
    }
    env.pop("MEDKB_DATABASE_URL", None)
    if database:
        env["MEDKB_DATABASE_URL"] = database
    command = [sys.executable, "-m", "medkb.cli", "worker", "--bus", bus, "--topic", topic]
    return [
        subprocess.Popen(
            [*command, "--group", "bench", "--name", f"w{i}", "--batch-size", str(args.batch)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]


def stored(engine: sa.Engine, prefix: str) -> int:
    """Events of the run applied (every kind is recorded in ``stream_applied``)."""
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(stream_applied.c.event_id.like(f"{prefix}-%"))
        return int(conn.execute(query).scalar_one())


def wait_stored(engine: sa.Engine, prefix: str, total: int, workers: list) -> None:
    deadline = time.monotonic() + 1800
    while stored(engine, prefix) < total:
        if any(w.poll() is not None for w in workers) or time.monotonic() > deadline:
            raise SystemExit(f"workers failed: {[w.stderr.read() for w in workers if w.poll()]}")
        time.sleep(0.05)


def _seconds(value: dt.datetime) -> float:
    return value.replace(tzinfo=value.tzinfo or dt.UTC).timestamp()


def applied_times(engine: sa.Engine, prefix: str) -> np.ndarray:
    """When each of the run's events was applied (seconds since the epoch)."""
    query = sa.select(stream_applied.c.applied_at).where(
        stream_applied.c.event_id.like(f"{prefix}-%")
    )
    with engine.connect() as conn:
        return np.array([_seconds(r[0]) for r in conn.execute(query)])


def drain_rate(applied: np.ndarray) -> float:
    """Events/s between the first commit and the last: the events committed after the first
    commit ÷ that time (the first batch's work happened before the first stamp)."""
    later = int((applied > applied.min()).sum())
    span = applied.max() - applied.min()
    if span <= 0:
        raise SystemExit("every event was applied in one commit: publish more events than --batch")
    return later / span


def times(engine: sa.Engine, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """``created_at`` and ``occurred_at`` (seconds since the epoch) of the run's rows."""
    query = sa.select(behaviour_events.c.created_at, behaviour_events.c.occurred_at).where(
        behaviour_events.c.event_id.like(f"{prefix}-%")
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return np.array([_seconds(r[0]) for r in rows]), np.array([_seconds(r[1]) for r in rows])


def one_run(args: argparse.Namespace, bus_kind: str, workers: int) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="medkb-bench-stream-") as folder,
        empty_databases(args.database_url) as (database,),
    ):
        home = Path(folder) / "home"
        settings = Settings(
            home=home, embedder="static", cache_dir=args.cache_dir, database_url=database
        )
        with build(settings) as kb, bus_url(bus_kind) as url:
            bus = open_bus(url, database_url=settings.resolved_database_url())
            topic = f"bench-{uuid.uuid4().hex[:8]}"
            now = dt.datetime.now(dt.UTC)
            for start in range(0, args.events, PUBLISH_CHUNK):  # kafka: one call, one partition
                chunk = range(start, min(start + PUBLISH_CHUNK, args.events))
                bus.publish(topic, [event(n, "drain", now, args.kind) for n in chunk])
            procs = start_workers(home, args, url, topic, workers, database)
            try:
                wait_stored(kb.engine, "drain", args.events, procs)
                rate = drain_rate(applied_times(kb.engine, "drain"))
                log_line(f"{bus_kind} x{workers}: drained {args.events} at {rate:,.0f} events/s")
                sent, created, produced = 0, np.zeros(1), np.zeros(1)
                if args.kind == "behaviour":  # qa.upserted carries no time of production
                    sent = publish_steadily(bus, topic, args)
                    wait_stored(kb.engine, "live", sent, procs)
                    created, produced = times(kb.engine, "live")
            finally:
                for proc in procs:
                    proc.send_signal(signal.SIGTERM)
                for proc in procs:
                    proc.wait(timeout=60)
                if bus_kind == "redis":
                    bus.client.delete(f"medkb:stream:{topic}")  # type: ignore[attr-defined]
                bus.close()
        lat = created - produced
        return {
            "bus": bus_kind,
            "workers": workers,
            "drain_rate": rate,
            "live": sent,
            "live_rate": sent / args.seconds,
            "p50": float(np.percentile(lat, 50)),
            "p95": float(np.percentile(lat, 95)),
            "p99": float(np.percentile(lat, 99)),
            "max": float(lat.max()),
        }


@contextmanager
def bus_url(kind: str) -> Iterator[str]:
    """The URL of a ``kind`` bus: the machine's Redis, the database, or a fresh Tansu."""
    if kind == "kafka":
        with running_kafka() as url:
            yield url
    else:
        yield REDIS_URL if kind == "redis" else "db"


def publish_steadily(bus: object, topic: str, args: argparse.Namespace) -> int:
    per_tick = max(int(args.rate * 0.05), 1)
    ticks = int(args.seconds / 0.05)
    start, sent = time.monotonic(), 0
    for tick in range(ticks):
        pause = start + tick * 0.05 - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        at = dt.datetime.now(dt.UTC)
        bus.publish(topic, [event(sent + i, "live", at) for i in range(per_tick)])  # type: ignore[attr-defined]
        sent += per_tick
    return sent


def render(args: argparse.Namespace, machine: Machine, results: list[dict], key: str) -> str:
    database = "PostgreSQL" if args.database_url else "SQLite"
    live = args.kind == "behaviour"
    rows = [
        [r["bus"], str(r["workers"]), f"{r['drain_rate']:,.0f}"]
        + (
            [
                f"{r['live']:,} at {r['live_rate']:,.0f}/s",
                *(f"{r[name]:.3f}" for name in ("p50", "p95", "p99", "max")),
            ]
            if live
            else []
        )
        for r in results
    ]
    header = ["bus", "workers", "drain events/s"]
    if live:
        header += ["live events", "p50 s", "p95 s", "p99 s", "max s"]
    return (
        f"<!-- {key} -->\n## Streaming ingestion: {EVENT_TYPES[args.kind]}, "
        f"{' and '.join(args.buses.split(','))} buses, {database}\n\n"
        f"```bash\n{machine.command}\n```\n\n"
        f"`{EVENT_TYPES[args.kind]}` events through `medkb worker --bus … --batch-size "
        f"{args.batch}` processes of one group into a fresh {database} knowledge base (the `db` "
        f"bus lives in the same database; static embedder). {WORK[args.kind]} *drain*: "
        f"{args.events:,} events published first, events/s = events committed after the first "
        "commit ÷ (last − first commit). "
        + (
            f"*live*: {args.rate:g} events/s published for {args.seconds:g} s while the workers "
            "run; latency = the worker's `created_at` (just before its commit) − the time just "
            "before the publish call. "
            if live
            else ""
        )
        + "The producer and the workers share the 2-core machine: see the load averages.\n\n"
        f"{machine_table(machine)}\n\n{table(header, rows)}\n\n{END_MARKER}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--buses", default="db,redis")
    parser.add_argument("--kind", choices=sorted(EVENT_TYPES), default="behaviour")
    parser.add_argument("--workers", default="1,2")
    add_database_option(parser)
    add_common_options(parser)
    args = parser.parse_args(argv)
    machine = machine_info("stream.py", sys.argv[1:] if argv is None else argv)
    results = [
        one_run(args, bus, int(count))
        for bus in args.buses.split(",")
        for count in args.workers.split(",")
    ]
    machine.load_end = os.getloadavg()
    key = f"bench:stream:{'postgresql' if args.database_url else 'sqlite'}"
    if args.buses != "db,redis":
        key += ":" + args.buses.replace(",", "-")
    if args.kind != "behaviour":
        key += f":{args.kind}"
    write_section(args.output, key, render(args, machine, results, key))
    log_line(f"wrote {args.output}")


if __name__ == "__main__":
    main()
