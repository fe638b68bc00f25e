"""Ingest throughput against embedding alone, and query latency per stage.

For the first N pairs of a corpus (BioASQ by default) this measures:

- embedding only: ``embed_pairs`` over the pairs, in the KB's ingest batch size (three
  texts per pair: question, response, question + response) → pairs/s;
- ingest: ``kb.add`` of the same pairs, in the same batches, into a fresh knowledge base
  (relational + vector store, graph linking, realtime sync) → pairs/s, and the share of
  ingest time that is not embedding (storage + graph + sync overhead);
- query: Q queries through ``kb.query`` (top_k 10, depth 1, then depth 2), after a few
  warm-up queries; p50 / p95 / mean of every stage in ``QueryResult.timings_ms``.

The results go to a section of ``docs/benchmarks.md`` delimited by
``<!-- bench:ingest_query:EMBEDDER:PAIRS:DATABASE:VECTOR -->`` … ``<!-- /bench -->``; a
rerun of the same configuration replaces its section and leaves the rest of the file alone.

    python bench/ingest_query.py --embedder static --pairs 10000 --queries 200
    python bench/ingest_query.py --embedder minilm --pairs 2000 --queries 100
    python bench/ingest_query.py --embedder static --pairs 10000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_x   # an empty database
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from common import (
    DATA,
    END_MARKER,
    Machine,
    add_common_options,
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
from medkb.ingest.writer import embed_pairs
from medkb.models import QAPair

T = TypeVar("T")
WARMUP_QUERIES = 5
STAGE_ORDER = (
    "normalise",
    "embed",
    "dense_search",
    "keyword_search",
    "fuse",
    "graph",
    "enrich",
    "answer",
    "log",
    "total",
)


@dataclass
class IngestRun:
    """Embedding-only and ingest timings over the same pairs."""

    pairs: int
    batch_size: int
    embed_seconds: float
    ingest_seconds: float
    batch_seconds: list[float]
    embed_cpu_seconds: float
    ingest_cpu_seconds: float
    stats: dict[str, Any]

    @property
    def overhead(self) -> float:
        """Share of ingest time not spent embedding."""
        return (self.ingest_seconds - self.embed_seconds) / self.ingest_seconds


@dataclass
class QueryRun:
    """Per-stage query timings (milliseconds) for one depth."""

    depth: int
    top_k: int
    stages: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class Report:
    """Everything one benchmark run renders."""

    key: str
    title: str
    args: argparse.Namespace
    machine: Machine
    ingest: IngestRun
    queries: list[QueryRun]
    warmup: int


# --- inputs ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="static", help="static or minilm.")
    parser.add_argument("--pairs", type=int, default=10_000, help="First N corpus pairs.")
    parser.add_argument("--queries", type=int, default=200, help="Queries per depth.")
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.jsonl")
    parser.add_argument("--queries-file", type=Path, default=DATA / "queries.jsonl")
    parser.add_argument("--database-url", default=None, help="Default: SQLite in a temp dir.")
    parser.add_argument("--vector-url", default=None, help="Default: local (FAISS) in a temp dir.")
    add_common_options(parser)
    return parser.parse_args(argv)


def load_queries(path: Path, limit: int, warmup: int) -> tuple[list[str], list[str]]:
    """The first ``limit`` query texts, and ``warmup`` others (from the end of the file)."""
    with path.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["query"] for line in lines if line.strip()]
    if len(texts) < limit + warmup:
        raise SystemExit(f"{path} has only {len(texts)} queries; asked for {limit} + {warmup}.")
    return texts[:limit], texts[-warmup:]


def make_settings(args: argparse.Namespace, home: Path) -> Settings:
    return Settings(
        home=home,
        embedder=args.embedder,
        cache_dir=args.cache_dir,
        database_url=args.database_url,
        vector_url=args.vector_url,
    )


def backend_names(settings: Settings) -> tuple[str, str]:
    """Short names of the relational and vector backends, for section keys and titles."""
    database = settings.resolved_database_url().split(":", 1)[0].split("+", 1)[0]
    vector = settings.resolved_vector_url()
    if vector.endswith(".db"):
        vector = "milvus-lite"
    return database, re.split(r"[+:]", vector, maxsplit=1)[0]


# --- measuring ------------------------------------------------------------------------------


def batches(pairs: Sequence[QAPair], size: int) -> list[Sequence[QAPair]]:
    return [pairs[start : start + size] for start in range(0, len(pairs), size)]


def time_embedding(kb: KnowledgeBase, pairs: Sequence[QAPair], size: int) -> float:
    """Seconds to embed every pair (three texts each) in ingest-sized batches."""
    started = time.perf_counter()
    for batch in batches(pairs, size):
        embed_pairs(kb.embedder, batch)
    return time.perf_counter() - started


def cpu_seconds(work: Callable[[], T]) -> tuple[T, float]:
    """``work()``'s result and the CPU seconds this process (all threads) spent on it."""
    started = time.process_time()
    result = work()
    return result, time.process_time() - started


def time_ingest(kb: KnowledgeBase, pairs: Sequence[QAPair], size: int) -> list[float]:
    """Seconds per ``kb.add`` batch (the same batches ``kb.add`` would make itself)."""
    seconds = []
    for batch in batches(pairs, size):
        started = time.perf_counter()
        result = kb.add(batch)
        seconds.append(time.perf_counter() - started)
        if len(result.created) != len(batch):
            raise SystemExit(f"kb.add created {len(result.created)} of {len(batch)} pairs.")
    return seconds


def measure_ingest(
    kb: KnowledgeBase, pairs: Sequence[QAPair], log: Callable[[str], None]
) -> IngestRun:
    size = kb.settings.ingest.batch_size
    kb.embedder.embed(["warm-up: load the embedding model"])
    embed_seconds, embed_cpu = cpu_seconds(lambda: time_embedding(kb, pairs, size))
    log(f"embedding only: {embed_seconds:.1f} s ({len(pairs) / embed_seconds:.0f} pairs/s)")
    batch_seconds, ingest_cpu = cpu_seconds(lambda: time_ingest(kb, pairs, size))
    ingest_seconds = sum(batch_seconds)
    log(f"ingest: {ingest_seconds:.1f} s ({len(pairs) / ingest_seconds:.0f} pairs/s)")
    return IngestRun(
        pairs=len(pairs),
        batch_size=size,
        embed_seconds=embed_seconds,
        ingest_seconds=ingest_seconds,
        batch_seconds=batch_seconds,
        embed_cpu_seconds=embed_cpu,
        ingest_cpu_seconds=ingest_cpu,
        stats=kb.stats(),
    )


def measure_queries(kb: KnowledgeBase, queries: Sequence[str], *, depth: int) -> QueryRun:
    top_k = kb.settings.search.top_k
    run = QueryRun(depth=depth, top_k=top_k)
    for text in queries:
        result = kb.query(text, top_k=top_k, depth=depth)
        for stage, ms in result.timings_ms.items():
            run.stages.setdefault(stage, []).append(ms)
    return run


def check_empty(kb: KnowledgeBase) -> None:
    with_pairs = kb.stats()["relational_pairs"]
    if with_pairs:
        raise SystemExit(f"The database already holds {with_pairs} pairs; give an empty one.")


def run_benchmark(args: argparse.Namespace, machine: Machine, log: Callable[[str], None]) -> Report:
    pairs = load_pairs(args.corpus, args.pairs)
    queries, warmup = load_queries(args.queries_file, args.queries, WARMUP_QUERIES)
    log(f"{len(pairs)} pairs, {len(queries)} queries loaded")
    with tempfile.TemporaryDirectory(prefix="medkb-bench-") as home:
        settings = make_settings(args, Path(home))
        database, vector = backend_names(settings)
        with build(settings) as kb:
            check_empty(kb)
            ingest = measure_ingest(kb, pairs, log)
            for text in warmup:
                kb.query(text)
            runs = [measure_queries(kb, queries, depth=depth) for depth in (1, 2)]
            log("queries done")
    machine.load_end = os.getloadavg()
    return Report(
        key=f"bench:ingest_query:{args.embedder}:{args.pairs}:{database}:{vector}",
        title=f"Ingest and query: {args.embedder} embedder, {args.pairs:,} pairs, "
        f"{database} + {vector}",
        args=args,
        machine=machine,
        ingest=ingest,
        queries=runs,
        warmup=len(warmup),
    )


# --- rendering ------------------------------------------------------------------------------


def rate(pairs: int, seconds: float) -> str:
    return f"{pairs / seconds:,.0f}" if seconds else "–"


def ingest_table(run: IngestRun) -> str:
    count = len(run.batch_seconds)
    tenth = max(1, count // 10)
    first, last = sum(run.batch_seconds[:tenth]), sum(run.batch_seconds[-tenth:])
    last_pairs = run.pairs - run.batch_size * (count - tenth)
    whole = [
        ("embedding only (`embed_pairs`)", run.embed_seconds, run.embed_cpu_seconds),
        ("ingest (`kb.add`)", run.ingest_seconds, run.ingest_cpu_seconds),
    ]
    rows = [(name, f"{wall:.1f}", rate(run.pairs, wall), f"{cpu:.1f}") for name, wall, cpu in whole]
    rows += [
        (f"ingest, first {tenth} of {count} batches", f"{first:.1f}",
         rate(run.batch_size * tenth, first), "–"),
        (f"ingest, last {tenth} of {count} batches", f"{last:.1f}",
         rate(last_pairs, last), "–"),
    ]  # fmt: skip
    return table(("step", "wall s", "pairs/s", "process CPU s"), rows)


def stats_line(stats: dict[str, Any]) -> str:
    relations = stats["relations"]
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(relations.items()))
    sync = ", ".join(f"{key} {value}" for key, value in sorted(stats["sync"].items()))
    return (
        f"Final stats: {stats['relational_pairs']:,} pairs in the relational store, "
        f"{stats['vector_pairs']:,} in the vector store, {sum(relations.values()):,} "
        f"relations ({kinds}); sync: {sync}; model `{stats['embedding_model']}`."
    )


def stage_rows(run: QueryRun) -> list[tuple[str, ...]]:
    names = [s for s in STAGE_ORDER if s in run.stages]
    names += sorted(set(run.stages) - set(STAGE_ORDER))
    rows: list[tuple[str, ...]] = []
    for name in names:
        values = np.asarray(run.stages[name])
        p50, p95 = np.percentile(values, [50, 95])
        rows.append((name, f"{p50:.2f}", f"{p95:.2f}", f"{values.mean():.2f}", str(len(values))))
    return rows


def query_tables(runs: Sequence[QueryRun]) -> str:
    parts = []
    for run in runs:
        parts.append(f"Depth {run.depth}, top_k {run.top_k} (ms):\n")
        header = ("stage", "p50", "p95", "mean", "n")
        parts.append(table(header, stage_rows(run)) + "\n")
    return "\n".join(parts)


def render(report: Report) -> str:
    run, args = report.ingest, report.args
    overhead = (
        f"Storage + graph + sync overhead: **{run.overhead:.0%}** of ingest time "
        f"((ingest − embedding) / ingest = ({run.ingest_seconds:.1f} − "
        f"{run.embed_seconds:.1f}) / {run.ingest_seconds:.1f} s)."
    )
    return "\n".join(
        [
            f"<!-- {report.key} -->",
            f"## {report.title}\n",
            f"```bash\n{report.machine.command}\n```\n",
            f"Corpus: first {run.pairs:,} pairs of `{args.corpus.name}` "
            f'(`{args.corpus.parent.name}`, `overlong="truncate"`); batch size '
            f"{run.batch_size} for both embedding and ingest; three embeddings per pair. "
            "Shared machine: other processes were running, see the load averages.\n",
            machine_table(report.machine) + "\n",
            "### Ingest\n",
            ingest_table(run) + "\n",
            "Process CPU s is `time.process_time()` (all threads of this process); on a "
            "shared machine wall time above it is time spent waiting for a core (or for I/O).\n",
            overhead + "\n",
            stats_line(run.stats) + "\n",
            "### Query latency per stage\n",
            f"{len(report.queries[0].stages.get('total', []))} queries from "
            f"`{args.queries_file.name}` per depth, default hybrid mode, query log on; "
            f"{report.warmup} other queries ran first as a warm-up (model and caches "
            "loaded). `keyword_search` is the time spent waiting for the keyword search, "
            "which runs in a thread alongside `embed` + `dense_search`.\n",
            query_tables(report.queries),
            END_MARKER,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    machine = machine_info("ingest_query.py", argv)
    log_line(f"load average at start: {load_text(machine.load_start)}")
    report = run_benchmark(args, machine, log_line)
    write_section(args.output, report.key, render(report))
    log_line(f"wrote section {report.key} to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
