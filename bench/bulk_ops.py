"""Bulk work that must scale linearly: deleting many pairs, and draining a big outbox backlog.

For each knowledge-base size N (``--sizes``) the script builds N pairs directly in the
relational store (synthetic texts, 8-dimensional synthetic embeddings, no graph links:
only the relational and outbox work is measured), each with an outbox row, as a bulk
import leaves them. Then it times:

1. **drain**: ``medkb.sync.apply.drain`` applies the N-row backlog (claims of 1,000 ids,
   as ``medkb worker`` does) to a vector store that keeps the records in a dict in this
   process (``--vector-store memory``, the default: the outbox, lease and relational
   reads are what is timed) or to the real local index (``--vector-store local``, which
   adds that index's own write cost);
2. **delete**: deleting ``--delete-fraction`` of the pairs (every k-th id) the way
   ``Writer.delete`` does, in transactions of ``--delete-batch`` ids (relations looked up,
   pairs deleted with their FTS rows, outbox rows queued).

Per-item times that stay flat from one size to the next mean linear total work; times
that grow with N mean quadratic work. ``--baseline-src DIR`` also runs the same
measurements in a child process on another checkout's ``src/`` (e.g. main before
migration 0004: ``git worktree add /tmp/base main``) and puts both in one table.

The results go to the section ``<!-- bench:bulk_ops:DATABASE:STORE -->`` of
docs/benchmarks.md.

    nice -n 5 python bench/bulk_ops.py --sizes 10000 50000 --baseline-src /tmp/base/src
    nice -n 5 python bench/bulk_ops.py --database-url postgresql://postgres@127.0.0.1/bench_bulk
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from common import (
    END_MARKER,
    add_common_options,
    add_database_option,
    empty_databases,
    log_line,
    machine_info,
    machine_table,
    table,
    write_section,
)

import medkb
from medkb.models import Embeddings, QAMetadata, QAPair, VectorRecord
from medkb.stores.relational import engine as relational
from medkb.stores.relational import outbox, pairs, relations
from medkb.stores.vector.local import LocalVectorStore
from medkb.sync.apply import drain

DIMENSION = 8
FILL_BATCH = 5000
WORDS = ["asthma", "diabetes", "migraine", "anaemia", "gout", "eczema", "angina"]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--delete-fraction", type=float, default=0.1)
    parser.add_argument("--delete-batch", type=int, default=100)
    parser.add_argument("--vector-store", choices=["memory", "local"], default="memory")
    parser.add_argument("--baseline-src", type=Path, help="Another checkout's src/ to compare.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    add_database_option(parser, also=" (and one more per size)")
    add_common_options(parser)
    return parser.parse_args(argv)


class MemoryVectorStore:
    """Keeps vector records in a dict: the vector side of a drain at ~no cost."""

    def __init__(self, dimension: int) -> None:
        self.dimension, self.records = dimension, {}

    def upsert(self, records: Sequence[VectorRecord]) -> None:
        self.records.update((record.id, record) for record in records)

    def delete(self, ids: Sequence[str]) -> None:
        for qa_id in ids:
            self.records.pop(qa_id, None)

    def close(self) -> None:
        self.records.clear()


def synthetic(n: int) -> QAPair:
    word = WORDS[n % len(WORDS)]
    return QAPair(
        id=f"bulk-{n:07d}",
        question=f"What is question {n} about {word}?",
        response=f"Answer {n}: {word} is discussed with a clinician, item {n * 7919 % 100003}.",
        metadata=QAMetadata(category=word.title()),
    )


def vectors(rng: np.random.Generator) -> Embeddings:
    fields = rng.standard_normal((3, DIMENSION)).astype(np.float32)
    return Embeddings(question=fields[0], response=fields[1], combined=fields[2], model_id="b")


def fill(engine: sa.Engine, size: int) -> float:
    """Write ``size`` pairs and their outbox rows; seconds taken."""
    rng, now, started = np.random.default_rng(0), datetime.now(UTC), time.perf_counter()
    with engine.begin() as conn:
        pairs.ensure_tenant(conn, "default", now=now)
    for start in range(0, size, FILL_BATCH):
        batch = [synthetic(n) for n in range(start, min(start + FILL_BATCH, size))]
        with engine.begin() as conn:
            pairs.write_pairs(conn, batch, [vectors(rng) for _ in batch], existing=(), now=now)
            outbox.enqueue(conn, [p.id for p in batch], tenant_id="default", op="upsert", now=now)
    return time.perf_counter() - started


def delete_some(engine: sa.Engine, ids: list[str], batch: int) -> float:
    """Delete ``ids`` as ``Writer.delete`` does, ``batch`` per transaction; seconds taken."""
    started = time.perf_counter()
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        now = datetime.now(UTC)
        with engine.begin() as conn:
            neighbours = relations.neighbour_ids(conn, chunk)
            deleted = pairs.delete_pairs(conn, chunk, tenant_id="default")
            touched = set(deleted) | neighbours
            outbox.enqueue(conn, touched, tenant_id="default", op="delete", now=now)
    return time.perf_counter() - started


def measure(url: str | None, size: int, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="medkb-bulk-") as tmp:
        engine = relational.make_engine(url or f"sqlite:///{Path(tmp) / 'kb.db'}")
        store: Any = (
            LocalVectorStore(Path(tmp) / "vectors", dimension=DIMENSION)
            if args.vector_store == "local"
            else MemoryVectorStore(DIMENSION)
        )
        try:
            relational.upgrade(engine)
            filled = fill(engine, size)
            log_line(f"  {size:,} pairs written in {filled:.1f} s; draining")
            started = time.perf_counter()
            applied = drain(engine, store, max_rounds=10 * size)
            drained = time.perf_counter() - started
            assert applied == size, (applied, size)
            step = max(1, round(1 / args.delete_fraction))
            doomed = [synthetic(n).id for n in range(0, size, step)]
            log_line(f"  drained in {drained:.1f} s; deleting {len(doomed):,}")
            deleted = delete_some(engine, doomed, args.delete_batch)
        finally:
            store.close()
            engine.dispose()
    return {
        "size": size,
        "fill_s": filled,
        "drain_s": drained,
        "deleted": len(doomed),
        "delete_s": deleted,
    }


def code_label() -> str:
    """Which medkb source ran: its directory's git commit."""
    where = Path(medkb.__file__).resolve().parent
    done = subprocess.run(
        ["git", "-C", str(where), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return f"{done.stdout.strip() or 'unknown'} ({where.parent})"


def run_sizes(args: argparse.Namespace) -> dict[str, object]:
    results = []
    with empty_databases(args.database_url, len(args.sizes)) as urls:
        for url, size in zip(urls, args.sizes, strict=True):
            log_line(f"{code_label()}: size {size:,}")
            results.append(measure(url, size, args))
    return {"code": code_label(), "results": results}


def baseline(args: argparse.Namespace, argv: Sequence[str]) -> dict[str, object]:
    """The same measurements on ``--baseline-src``, in a child process."""
    env = {**os.environ, "PYTHONPATH": str(args.baseline_src)}
    skip = {i + 1 for i, a in enumerate(argv) if a == "--baseline-src"}
    child = [a for i, a in enumerate(argv) if i not in skip and not a.startswith("--baseline")]
    done = subprocess.run(
        [sys.executable, __file__, *child, "--child"], env=env, capture_output=True, text=True
    )
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"baseline run failed ({done.returncode})")
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def rows(label: str, run: dict[str, object]) -> list[list[str]]:
    out = []
    for r in run["results"]:  # type: ignore[attr-defined]
        out.append(
            [
                label,
                f"{r['size']:,}",
                f"{r['drain_s']:.1f}",
                f"{r['drain_s'] / r['size'] * 1000:.3f}",
                f"{r['deleted']:,}",
                f"{r['delete_s']:.1f}",
                f"{r['delete_s'] / r['deleted'] * 1000:.2f}",
            ]
        )
    return out


STORES = {
    "memory": "a vector store that keeps the records in a dict (so the outbox, lease and "
    "relational work is what is timed)",
    "local": "the local vector index (8-dimensional vectors; its own write cost included)",
}


def render(
    key: str,
    machine: object,
    runs: list[tuple[str, dict[str, object]]],
    db: str,
    vector_store: str,
) -> str:
    header = ["code", "pairs N", "drain s", "drain ms/id", "deleted", "delete s", "ms/delete"]
    body = [row for label, run in runs for row in rows(label, run)]
    codes = "; ".join(f"{label} = `{run['code']}`" for label, run in runs)
    return (
        f"<!-- {key} -->\n## Bulk work: draining an outbox backlog and deleting pairs, "
        f"{db}, {vector_store} vector store\n\n"
        f"```bash\n{machine.command}\n```\n\n"  # type: ignore[attr-defined]
        "N synthetic pairs written straight to the relational store with one outbox row "
        "each; **drain** applies the N-row backlog in claims of 1,000 ids to "
        f"{STORES[vector_store]}; **delete** removes every 10th pair in transactions "
        "of 100 ids as `Writer.delete` does (relations, pairs with their FTS rows, outbox "
        "rows). Flat per-item times from one N to the next mean linear work. "
        f"{codes}. Shared machine: see the load averages.\n\n"
        + machine_table(machine)  # type: ignore[arg-type]
        + "\n\n"
        + table(header, body)
        + f"\n{END_MARKER}\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.child:
        print(json.dumps(run_sizes(args)))
        return 0
    machine = machine_info("bulk_ops.py", argv)
    runs = []
    if args.baseline_src:
        runs.append(("before", baseline(args, argv)))
    runs.append(("after" if args.baseline_src else "this", run_sizes(args)))
    machine.load_end = os.getloadavg()
    db = "postgresql" if args.database_url else "sqlite"
    key = f"bench:bulk_ops:{db}:{args.vector_store}"
    write_section(args.output, key, render(key, machine, runs, db, args.vector_store))
    for label, run in runs:
        for row in rows(label, run):
            print(" | ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
