"""Sync lag of the ``eventual`` and ``batch`` strategies under a steady write load.

This process writes pairs at a fixed rate (``--rate`` pairs/s, one ``kb.add`` per pair,
``MEDKB_SYNC_STRATEGY`` = the strategy, so each write returns once committed) for
``--seconds``, while a separate ``medkb worker`` process applies the outbox. For each pair
the lag is ``synced_at`` (recorded by the worker when it applied the pair's first outbox
row) minus the time its ``kb.add`` returned (the commit). A poller reads ``synced_at`` as
soon as it appears, so later re-applies (the pair as a neighbour of a later pair) do not
count. Static embedder, the local vector store, SQLite or PostgreSQL.

The results go to a section of ``docs/benchmarks.md`` delimited by
``<!-- bench:sync_lag:DATABASE:STRATEGY -->`` … ``<!-- /bench -->``.

    nice -n 5 python bench/sync_lag.py --strategy eventual
    nice -n 5 python bench/sync_lag.py --strategy batch --batch-rows 200 --batch-seconds 2
    nice -n 5 python bench/sync_lag.py --strategy eventual \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_sync   # created, dropped
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from common import (
    DATA,
    END_MARKER,
    Machine,
    add_common_options,
    add_database_option,
    empty_databases,
    load_pairs,
    load_text,
    log_line,
    machine_info,
    machine_table,
    table,
    write_section,
)

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.stores.relational.schema import sync_status


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", choices=["eventual", "batch"], default="eventual")
    parser.add_argument("--rate", type=float, default=20.0, help="Pairs written per second.")
    parser.add_argument("--seconds", type=float, default=40.0, help="Length of the load.")
    parser.add_argument("--interval", type=float, default=0.2, help="Worker poll interval (s).")
    parser.add_argument("--batch-rows", type=int, default=200, help="batch: rows threshold.")
    parser.add_argument("--batch-seconds", type=float, default=2.0, help="batch: age threshold.")
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.jsonl")
    add_database_option(parser)
    add_common_options(parser)
    return parser.parse_args(argv)


def worker_env(args: argparse.Namespace, settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDKB_")}
    env.update(
        MEDKB_HOME=str(settings.home),
        MEDKB_DATABASE_URL=settings.resolved_database_url(),
        MEDKB_EMBEDDER="static",
        MEDKB_CACHE_DIR=str(args.cache_dir),
        MEDKB_SYNC_STRATEGY=args.strategy,
        MEDKB_SYNC__INTERVAL_S=str(args.interval),
        MEDKB_SYNC__BATCH_ROWS=str(args.batch_rows),
        MEDKB_SYNC__BATCH_SECONDS=str(args.batch_seconds),
    )
    return env


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    """``medkb worker`` in its own process; returns once it is polling."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "medkb.cli", "worker"], env=env, stdout=subprocess.PIPE, text=True
    )
    assert worker.stdout is not None
    line = worker.stdout.readline()
    if not line.startswith("medkb worker"):
        raise SystemExit(f"the worker did not start: {line!r}")
    return worker


class SyncedAtPoller:
    """Records the first ``synced_at`` seen for each written id, every 50 ms."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb, self.waiting, self.first = kb, set[str](), dict[str, dt.datetime]()
        self.lock, self.stop = threading.Lock(), threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.elapsed = 0.0  # seconds the write load took

    def add(self, qa_id: str) -> None:
        with self.lock:
            self.waiting.add(qa_id)

    def poll(self) -> None:
        with self.lock:
            ids = sorted(self.waiting)
        if not ids:
            return
        query = sa.select(sync_status.c.qa_id, sync_status.c.synced_at).where(
            sync_status.c.qa_id.in_(ids), sync_status.c.synced_at.is_not(None)
        )
        with self.kb.engine.connect() as conn:
            found = conn.execute(query).all()
        with self.lock:
            for qa_id, synced_at in found:
                if synced_at.tzinfo is None:
                    synced_at = synced_at.replace(tzinfo=dt.UTC)
                self.first.setdefault(qa_id, synced_at)
                self.waiting.discard(qa_id)

    def run(self) -> None:
        while not self.stop.is_set():
            self.poll()
            self.stop.wait(0.05)


def write_load(kb: KnowledgeBase, args: argparse.Namespace, poller: SyncedAtPoller) -> dict:
    """Write one pair every 1/rate s; return each id's commit time."""
    pairs = load_pairs(args.corpus, int(args.rate * args.seconds))
    committed: dict[str, dt.datetime] = {}
    started = time.monotonic()
    for n, pair in enumerate(pairs):
        delay = started + n / args.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        kb.add([pair])
        committed[pair.id] = dt.datetime.now(dt.UTC)
        poller.add(pair.id)
    poller.elapsed = time.monotonic() - started
    return committed


def wait_until_synced(poller: SyncedAtPoller, ids: Sequence[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with poller.lock:
            if all(qa_id in poller.first for qa_id in ids):
                return
        time.sleep(0.1)
    raise SystemExit("the worker did not apply every pair in time")


def measure(args: argparse.Namespace, url: str | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="medkb-sync-lag-") as tmp:
        settings = Settings(
            home=Path(tmp) / "home",
            embedder="static",
            cache_dir=args.cache_dir,
            database_url=url,
            sync_strategy=args.strategy,
        )
        with build(settings) as kb:
            kb.embedder.embed(["warm-up"])
            worker = start_worker(worker_env(args, settings))
            poller = SyncedAtPoller(kb)
            poller.thread.start()
            try:
                committed = write_load(kb, args, poller)
                wait_until_synced(poller, list(committed))
            finally:
                poller.stop.set()
                worker.send_signal(signal.SIGTERM)
                worker.communicate(timeout=60)
            lags = [(poller.first[i] - t).total_seconds() for i, t in committed.items()]
            return {
                "lags": lags,
                "stats": kb.stats(),
                "pairs": len(committed),
                "rate": len(committed) / poller.elapsed,
            }


def render(args: argparse.Namespace, machine: Machine, result: dict, key: str) -> str:
    lags = np.array(result["lags"])
    stats = result["stats"]
    database = "postgresql" if args.database_url else "sqlite"
    mode = (
        f"batch (apply at {args.batch_rows} due rows or when the oldest is "
        f"{args.batch_seconds:g} s old; poll every {args.interval:g} s)"
        if args.strategy == "batch"
        else f"eventual (poll every {args.interval:g} s)"
    )
    rows = [
        [f"{np.percentile(lags, p):.3f}" for p in (50, 90, 99)]
        + [f"{lags.max():.3f}", f"{lags.mean():.3f}", str(len(lags)), f"{result['rate']:.1f}"]
    ]
    return (
        f"<!-- {key} -->\n## Sync lag: {args.strategy}, {database} + local\n\n"
        f"```bash\n{machine.command}\n```\n\n"
        f"One writer process aims at {args.rate:g} pairs/s (achieved: last column; one "
        "`kb.add` per pair, first pairs of `corpus.jsonl`, static embedder, graph linking "
        f"on) for {args.seconds:g} s; writes "
        f"return once committed. A separate `medkb worker` process in {mode} applies the "
        "outbox. Lag per pair = `sync_status.synced_at` of its first apply − the time its "
        "`kb.add` returned. Shared machine: see the load averages.\n\n"
        f"{machine_table(machine)}\n\n"
        + table(["p50 s", "p90 s", "p99 s", "max s", "mean s", "pairs", "achieved pairs/s"], rows)
        + f"\n\nFinal: {stats['relational_pairs']} pairs in the relational store, "
        f"{stats['vector_pairs']} in the vector store; sync {stats['sync']}.\n\n{END_MARKER}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    machine = machine_info("sync_lag.py", argv)
    with empty_databases(args.database_url) as (url,):
        log_line(f"{args.strategy}: {args.rate:g} pairs/s for {args.seconds:g} s")
        result = measure(args, url)
    machine.load_end = os.getloadavg()
    lags = np.array(result["lags"])
    log_line(f"lag p50 {np.percentile(lags, 50):.3f} s, p99 {np.percentile(lags, 99):.3f} s")
    database_name = "postgresql" if args.database_url else "sqlite"
    key = f"bench:sync_lag:{database_name}:{args.strategy}"
    write_section(args.output, key, render(args, machine, result, key))
    log_line(f"wrote {args.output} ({key}); load {load_text(machine.load_end)}")


if __name__ == "__main__":
    main()
