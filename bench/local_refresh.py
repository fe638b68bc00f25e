"""Query latency of the local vector store right after another process wrote one pair.

A reader process and a writer process open the same local store (``LocalVectorStore``,
FAISS + the SQLite sidecar) of N synthetic pairs (384-dim random unit vectors, the size of
MiniLM embeddings). Each round the writer makes one single-pair write (in turn: replace a
pair, add one, delete the one just added), then the reader runs one search (field
``combined``, k 10) and reports its latency; a second search with no write in between
gives the steady latency.
The store is built once per size by writing its sidecar rows directly (plus the HNSW
cache above 20,000 pairs, which both versions load on open), then copied for each code
version, so both start from the same files.

Run it once per code version: ``--src`` names the medkb source tree the reader and the
writer import (default: this checkout's ``src``), e.g. a checkout of the commit before
the incremental refresh for the "before" numbers. The script itself (and the page it
writes) uses this checkout.

The results go to a section of ``docs/benchmarks.md`` delimited by
``<!-- bench:local_refresh -->`` … ``<!-- /bench -->``.

    nice -n 5 python bench/local_refresh.py --pairs 20000 50000 --writes 10 \\
        --before-src /path/to/old/checkout/src --before-writes 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from common import (
    DEFAULT_OUTPUT,
    END_MARKER,
    ROOT,
    Machine,
    load_text,
    log_line,
    machine_info,
    machine_table,
    table,
    write_section,
)

from medkb.stores.vector.local import SIDECAR, LocalVectorStore

DIM = 384

CHILD = r"""
import sys, time
from pathlib import Path
import numpy as np
from medkb.models import Embeddings, VectorRecord
from medkb.stores.vector.local import LocalVectorStore

directory, dim, role = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def unit(seed):
    rows = np.random.default_rng(seed).standard_normal((3, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)

started = time.perf_counter()
store = LocalVectorStore(directory, dimension=dim)
print("opened", time.perf_counter() - started, flush=True)
for line in sys.stdin:
    command, record_id, seed = line.split()
    started = time.perf_counter()
    if command == "upsert":
        q, r, c = unit(int(seed))
        store.upsert([VectorRecord(
            id=record_id, tenant_id="default", question="q", response="r",
            embeddings=Embeddings(question=q, response=r, combined=c, model_id="bench"),
            metadata={"category": "General"}, related_nodes=[],
        )])
    elif command == "delete":
        store.delete([record_id])
    else:
        store.search(unit(int(seed))[2], field="combined", k=10, tenant_id="default")
    print("done", (time.perf_counter() - started) * 1000, flush=True)
store.close()
"""


@dataclass
class Run:
    """One code version at one size."""

    label: str
    pairs: int
    open_s: float = 0.0
    after_write_ms: list[float] = field(default_factory=list)
    steady_ms: list[float] = field(default_factory=list)
    write_ms: list[float] = field(default_factory=list)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pairs",
        type=int,
        nargs="+",
        default=[19_999, 50_000],
        help="Store sizes; 19,999 (+1 added) stays below the 20,000 exact/HNSW threshold.",
    )
    parser.add_argument("--writes", type=int, default=10, help="Rounds for this checkout.")
    parser.add_argument("--before-src", type=Path, default=None, help="Older medkb src.")
    parser.add_argument("--before-writes", type=int, default=3, help="Rounds for --before-src.")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=120.0,
        help="Stop a run's rounds after this many seconds (at least one round runs).",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def build_sidecar(directory: Path, pairs: int) -> None:
    """A store of ``pairs`` random records, written straight into the sidecar (no FAISS)."""
    LocalVectorStore(directory, dimension=DIM).close()  # the schema, nothing else
    rng = np.random.default_rng(0)
    with closing(sqlite3.connect(directory / SIDECAR)) as db, db:
        for start in range(0, pairs, 5_000):
            count = min(5_000, pairs - start)
            blocks = [rng.standard_normal((count, DIM)).astype(np.float32) for _ in range(3)]
            rows = [
                (f"p{start + i:07d}", *(b[i] / np.linalg.norm(b[i]) for b in blocks))
                for i in range(count)
            ]
            db.executemany(
                "INSERT INTO records (id, tenant_id, question, response, category, metadata, "
                "related_nodes, model_id, question_vec, response_vec, combined_vec) "
                "VALUES (?, 'default', 'q', 'r', 'General', '{}', '[]', 'bench', ?, ?, ?)",
                [(rid, q.tobytes(), r.tobytes(), c.tobytes()) for rid, q, r, c in rows],
            )
    # Above the threshold, opening builds the HNSW indexes and closing caches them, so each
    # process below opens from the cache instead of spending minutes building them again.
    LocalVectorStore(directory, dimension=DIM).close()


class Child:
    """A reader or writer process importing medkb from ``src``."""

    def __init__(self, src: Path, directory: Path, role: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(src)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(directory), str(DIM), role],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.open_s = float(self._line("opened"))

    def _line(self, tag: str) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if not line or line[0] != tag:
            raise SystemExit(f"the {tag!r} child stopped: {line!r}")
        return line[1]

    def ask(self, command: str, record_id: str = "-", seed: int = 0) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command} {record_id} {seed}\n")
        self.process.stdin.flush()
        return float(self._line("done"))

    def close(self) -> None:
        self.process.communicate(timeout=600)


#: The writer's rounds cycle: replace a pair, add one, delete the one just added, so the
#: store holds N or N + 1 pairs throughout.
WRITES = (
    lambda n: ("upsert", f"p{n:07d}", 1000 + n),
    lambda n: ("upsert", f"new{n}", 1000 + n),
    lambda n: ("delete", f"new{n - 1}", 0),
)


def measure(label: str, src: Path, source: Path, pairs: int, writes: int, budget: float) -> Run:
    """Up to ``writes`` rounds, fewer (but at least one) once ``budget`` seconds passed."""
    run = Run(label=label, pairs=pairs)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="medkb-refresh-") as tmp:
        directory = Path(tmp) / "vectors"
        shutil.copytree(source, directory)
        reader = Child(src, directory, "reader")
        writer = Child(src, directory, "writer")
        run.open_s = reader.open_s
        reader.ask("search", seed=1)  # warm-up
        try:
            for round_ in range(writes):
                if round_ and time.perf_counter() - started > budget:
                    break
                run.write_ms.append(writer.ask(*WRITES[round_ % 3](round_)))
                run.after_write_ms.append(reader.ask("search", seed=2000 + round_))
                run.steady_ms.append(reader.ask("search", seed=3000 + round_))
                log_line(f"{label} {pairs}: round {round_ + 1}/{writes}")
        finally:
            writer.close()
            reader.close()
    return run


def ms(values: list[float]) -> str:
    return f"{statistics.median(values):,.1f}" if values else "–"


def render(machine: Machine, runs: list[Run]) -> str:
    rows = [
        (
            run.label,
            f"{run.pairs:,}",
            "HNSW" if run.pairs > 20_000 else "exact",
            f"{run.open_s:.1f}",
            ms(run.after_write_ms),
            f"{max(run.after_write_ms):,.1f}",
            ms(run.steady_ms),
            ms(run.write_ms),
            str(len(run.after_write_ms)),
        )
        for run in runs
    ]
    header = (
        "code",
        "pairs",
        "index",
        "reader open s",
        "search after a write p50 ms",
        "max ms",
        "search, no write p50 ms",
        "write (writer) p50 ms",
        "rounds",
    )
    return (
        "<!-- bench:local_refresh -->\n"
        "## Local vector store: search right after another process's write\n\n"
        f"```bash\n{machine.command}\n```\n\n"
        "Two processes on one local store of N synthetic pairs (384-dim random unit vectors, "
        "3 fields): each round the writer makes one single-pair write (in turn: replace a "
        "pair, add one, delete the one just added), then the reader runs one search "
        "(`combined`, k 10), then one more with no write between. `before`: the code that "
        "rebuilt every FAISS index after any other process's commit; `after`: the "
        "change-log refresh (issue 8, item 14). Shared "
        "machine: other engineers' jobs were running, see the load averages.\n\n"
        f"{machine_table(machine)}\n\n{table(header, rows)}\n\n{END_MARKER}\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    machine = machine_info("local_refresh.py", sys.argv[1:] if argv is None else argv)
    versions = [("after", ROOT / "src", args.writes)]
    if args.before_src is not None:
        versions.insert(0, ("before", args.before_src.resolve(), args.before_writes))
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="medkb-refresh-src-") as tmp:
        for pairs in args.pairs:
            source = Path(tmp) / f"store{pairs}"
            build_sidecar(source, pairs)
            for label, src, writes in versions:
                log_line(f"{label}: {pairs:,} pairs, {writes} rounds")
                runs.append(measure(label, src, source, pairs, writes, args.budget_s))
                machine.load_end = os.getloadavg()  # the section so far survives a stop
                write_section(args.output, "bench:local_refresh", render(machine, runs))
            shutil.rmtree(source)
    print(render(machine, runs))
    print("load", load_text(machine.load_end))


if __name__ == "__main__":
    main()
