"""How ingest, queries, memory, disk, updates and deletes grow with the knowledge base.

One knowledge base (static embedder; SQLite + local by default, or an empty PostgreSQL
database with ``--database-url``) is grown with ``kb.add`` in the ingest batch size to the
largest of ``--sizes``: the real pairs first (BioASQ, then MEDIQA, from
``../shared/data``), then generated variations of them (the question with a clinical
qualifier, the answer's sentences rotated and a context sentence added: new texts, new
vectors, each near its original). At each size of ``--sizes`` the load pauses and:

- a separate process opens the knowledge base and answers ``--queries`` BioASQ queries
  (hybrid, top 10) at depth 1 and at depth 2 after 5 warm-up queries: p50 / p95 per
  stage, and that query process's peak RSS;
- ``--edits`` pairs are updated (new answer text) and as many deleted, one call each;
- the disk size of the home directory (and of the database on PostgreSQL) is taken.

Ingest pairs/s is reported per tenth of each size's load, with the ingest process's peak
RSS. The section ``<!-- bench:scale:DATABASE:VECTOR -->`` of ``docs/benchmarks.md`` is
replaced by the result.

    OPENBLAS_NUM_THREADS=1 python bench/scale.py --sizes 10000 100000
    python bench/scale.py --sizes 10000 --database-url postgresql://postgres@127.0.0.1/bench_scale
    python bench/scale.py --sizes 10000 --vector-url pgvector --database-url PGVECTOR_URL
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from common import (
    END_MARKER,
    ROOT,
    add_common_options,
    add_database_option,
    empty_databases,
    log_line,
    machine_info,
    machine_table,
    table,
    write_section,
)

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.ingest.loaders import load_file
from medkb.models import QAPair

SHARED = ROOT.parent / "shared" / "data"
CORPORA = (SHARED / "bioasq" / "corpus.jsonl", SHARED / "mediqa2019" / "corpus.jsonl")
QUERIES = SHARED / "bioasq" / "queries.jsonl"
WARMUP = 5
STAGES = ("embed", "dense_search", "keyword_search", "fuse", "graph", "enrich", "total")
QUALIFIERS = (
    "in children",
    "in older adults",
    "during pregnancy",
    "in patients with diabetes",
    "after surgery",
    "in women",
    "in men",
    "in smokers",
    "in kidney disease",
    "in the first year",
)


@dataclass
class Checkpoint:
    """What was measured when the knowledge base held ``size`` pairs."""

    size: int
    tenths: list[float]  # pairs/s over each tenth of the load up to ``size``
    ingest_rss_mb: float
    disk_mb: float
    queries: dict[str, dict[str, list[float]]]  # depth → stage → [p50, p95]
    query_rss_mb: float
    update_ms: list[float] = field(default_factory=list)
    delete_ms: list[float] = field(default_factory=list)


# --- data -----------------------------------------------------------------------------------


def real_pairs() -> list[QAPair]:
    return [p for path in CORPORA for p in load_file(path, overlong="truncate").pairs]


def variation(pair: QAPair, round_: int) -> QAPair:
    """Round ``round_`` (1, 2, …) of ``pair``: another question and answer near it."""
    qualifier = QUALIFIERS[(round_ - 1) % len(QUALIFIERS)]
    sentences = [s for s in pair.response.split(". ") if s]
    turn = round_ % max(1, len(sentences))
    answer = ". ".join(sentences[turn:] + sentences[:turn])
    return QAPair(
        id=f"{pair.id}~v{round_}",
        question=f"{pair.question.rstrip('?')} {qualifier}?",
        response=f"{answer} This applies {qualifier} (variant {round_}).",
        metadata=pair.metadata,
    )


def pairs_up_to(size: int) -> Iterator[QAPair]:
    """``size`` pairs: the real ones, then rounds of variations of them."""
    real = real_pairs()
    for made in range(size):
        round_, index = divmod(made, len(real))
        yield real[index] if round_ == 0 else variation(real[index], round_)


def batched(items: Iterator[QAPair], size: int) -> Iterator[list[QAPair]]:
    batch: list[QAPair] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- measuring ------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM (ru_maxrss would carry the parent's over the exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mb(home: Path, engine: sa.Engine) -> float:
    files = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            files += conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
    return files / 1e6


def tenths(done: list[tuple[int, float]], size: int) -> list[float]:
    """Pairs/s per tenth of the first ``size`` pairs, from (pairs, seconds) per batch."""
    slices: list[list[float]] = [[0, 0.0] for _ in range(10)]
    start = 0
    for count, seconds in done:
        if start >= size:
            break
        tenth = min(9, start * 10 // size)
        slices[tenth][0] += count
        slices[tenth][1] += seconds
        start += count
    return [count / seconds if seconds else 0.0 for count, seconds in slices]


def query_child(
    settings: Settings, queries: int
) -> tuple[dict[str, dict[str, list[float]]], float]:
    """Query timings and peak RSS of a fresh process that opens the knowledge base."""
    command = [sys.executable, __file__, "--query-child", str(queries)]
    opened = {  # the URL in full: a dump of Settings masks it
        "home": str(settings.home),
        "cache_dir": str(settings.cache_dir),
        "database_url": settings.resolved_database_url(),
        "vector_url": settings.resolved_vector_url(),
    }
    env = {**os.environ, "MEDKB_BENCH_SETTINGS": json.dumps(opened)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"query process failed:\n{done.stderr[-3000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return found["depths"], found["rss_mb"]


def run_queries(queries: int) -> None:
    """The query process: print one JSON line of p50/p95 per depth and stage, and RSS."""
    settings = Settings(embedder="static", **json.loads(os.environ["MEDKB_BENCH_SETTINGS"]))
    lines = QUERIES.read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["query"] for line in lines if line.strip()]
    depths: dict[str, dict[str, list[float]]] = {}
    with build(settings) as kb:
        for text in texts[-WARMUP:]:
            kb.query(text, depth=2)
        for depth in (1, 2):
            seen: dict[str, list[float]] = {}
            for text in texts[:queries]:
                for stage, ms in kb.query(text, depth=depth).timings_ms.items():
                    seen.setdefault(stage, []).append(ms)
            depths[str(depth)] = {
                stage: [float(np.percentile(ms, 50)), float(np.percentile(ms, 95))]
                for stage, ms in seen.items()
            }
    print(json.dumps({"depths": depths, "rss_mb": peak_rss_mb()}))


def edit(kb: KnowledgeBase, ids: list[str], count: int) -> tuple[list[float], list[float]]:
    """Milliseconds per ``kb.update`` of ``count`` pairs, then per ``kb.delete`` of as many
    others; the deleted ids leave ``ids``."""
    picks = np.random.default_rng(len(ids)).choice(len(ids), size=2 * count, replace=False)
    chosen = [ids[row] for row in picks]
    updates, deletes = [], []
    for n, qa_id in enumerate(chosen[:count]):
        started = time.perf_counter()
        kb.update(qa_id, response=f"Edited answer {n}: ask a clinician about this treatment.")
        updates.append((time.perf_counter() - started) * 1000)
    for qa_id in chosen[count:]:
        started = time.perf_counter()
        kb.delete(qa_id)
        deletes.append((time.perf_counter() - started) * 1000)
    gone = set(chosen[count:])
    ids[:] = [qa_id for qa_id in ids if qa_id not in gone]
    return updates, deletes


def grow(args: argparse.Namespace, settings: Settings) -> list[Checkpoint]:
    """Load to each size in turn; measure there (the knowledge base closed for the queries)."""
    sizes, done, ids, found = sorted(args.sizes), [], [], []
    stream = batched(pairs_up_to(sizes[-1]), settings.ingest.batch_size)
    added = 0
    for size in sizes:
        with build(settings) as kb:
            while added < size:
                batch = next(stream)
                started = time.perf_counter()
                kb.add(batch)
                done.append((len(batch), time.perf_counter() - started))
                ids.extend(p.id for p in batch)
                added += len(batch)
                if added % 10_000 < len(batch):
                    log_line(f"{added:,} pairs; last batch {len(batch) / done[-1][1]:.0f} pairs/s")
            engine_disk = disk_mb(settings.home, kb.engine)
        queries, query_rss = query_child(settings, args.queries)
        point = Checkpoint(
            size=size,
            tenths=tenths(done, size),
            ingest_rss_mb=peak_rss_mb(),
            disk_mb=engine_disk,
            queries=queries,
            query_rss_mb=query_rss,
        )
        with build(settings) as kb:
            point.update_ms, point.delete_ms = edit(kb, ids, args.edits)
        found.append(point)
        log_line(
            f"{size:,}: total p50/p95 depth 2 {queries['2']['total']} ms; "
            f"update p50 {np.median(point.update_ms):.0f} ms"
        )
    return found


# --- rendering ------------------------------------------------------------------------------


def ms(values: Sequence[float]) -> str:
    return f"{np.percentile(values, 50):.0f} / {np.percentile(values, 95):.0f}"


def render(
    key: str, title: str, args: argparse.Namespace, machine: object, points: list[Checkpoint]
) -> str:
    sizes = [f"{p.size:,}" for p in points]
    growth = table(
        ("tenth of the load", *(f"{s} pairs: pairs/s" for s in sizes)),
        [(f"{t + 1}", *(f"{p.tenths[t]:.0f}" for p in points)) for t in range(10)],
    )
    summary_rows = [
        (
            "ingest pairs/s, whole load",
            *(f"{p.size / sum(p.size / 10 / r for r in p.tenths if r):.0f}" for p in points),
        ),
        ("last tenth / first tenth", *(f"{p.tenths[9] / p.tenths[0]:.2f}" for p in points)),
        ("ingest process peak RSS (MB, so far)", *(f"{p.ingest_rss_mb:.0f}" for p in points)),
        ("query process peak RSS (MB)", *(f"{p.query_rss_mb:.0f}" for p in points)),
        ("disk (MB)", *(f"{p.disk_mb:.0f}" for p in points)),
        ("update, one pair: p50 / p95 ms", *(ms(p.update_ms) for p in points)),
        ("delete, one pair: p50 / p95 ms", *(ms(p.delete_ms) for p in points)),
    ]
    for depth in ("1", "2"):
        for stage in STAGES:
            summary_rows.append(
                (
                    f"query depth {depth}, {stage}: p50 / p95 ms",
                    *(
                        "{:.1f} / {:.1f}".format(*p.queries[depth][stage])
                        if stage in p.queries[depth]
                        else "–"
                        for p in points
                    ),
                )
            )
    summary = table(("at size", *sizes), summary_rows)
    return "\n\n".join(
        [
            f"<!-- {key} -->\n## {title}",
            machine_table(machine),  # type: ignore[arg-type]
            f"Command: `{machine.command}`",  # type: ignore[attr-defined]
            "One knowledge base grown to each size in turn with `kb.add` (batches of "
            f"{args.batch}, realtime sync, similarity links k 5): the real BioASQ and MEDIQA pairs "
            "first, then generated variations of them. At each size the load pauses: a fresh "
            f"process answers {args.queries} BioASQ queries (hybrid, top 10; {WARMUP} warm-up "
            f"queries) at depth 1 and 2, then {args.edits} pairs are updated and {args.edits} "
            "deleted, one call each. Ingest pairs/s per tenth of each size's load:",
            growth,
            summary,
            END_MARKER,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=100, help="Queries per depth.")
    parser.add_argument("--edits", type=int, default=20, help="Updates, and deletes, per size.")
    parser.add_argument("--query-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--vector-url", default=None, help="MEDKB_VECTOR_URL (default local), e.g. pgvector."
    )
    add_database_option(parser)
    add_common_options(parser)
    args = parser.parse_args(argv)
    if args.query_child is not None:
        run_queries(args.query_child)
        return 0
    machine = machine_info("scale.py", sys.argv[1:] if argv is None else argv)
    with (
        tempfile.TemporaryDirectory(prefix="medkb-scale-") as home,
        empty_databases(args.database_url) as (url,),
    ):
        settings = Settings(
            home=Path(home),
            embedder="static",
            cache_dir=args.cache_dir,
            database_url=url and url.replace("postgresql+psycopg://", "postgresql://", 1),
            vector_url=args.vector_url,
        )
        args.batch = settings.ingest.batch_size
        database = settings.resolved_database_url().split(":", 1)[0].split("+", 1)[0]
        vector = settings.resolved_vector_url().split(":", 1)[0]
        points = grow(args, settings)
    machine.load_end = os.getloadavg()
    key = f"bench:scale:{database}:{vector}"
    title = f"Scale: static embedder, {database} + {vector}, up to {max(args.sizes):,} pairs"
    write_section(args.output, key, render(key, title, args, machine, points))
    log_line(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
