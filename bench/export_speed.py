"""Export speed (pairs/s) and peak memory of ``medkb export`` on 10k and 100k pairs.

For each size N this builds a SQLite knowledge base of N synthetic pairs quickly, by writing
rows straight into the relational store (``pairs.write_pairs`` with random unit vectors of
the static embedder's 256 dimensions, one source per pair and 5 outgoing ``similar_to``
relations per pair) instead of embedding, then runs ``export_to`` for jsonl, parquet and
csv, each without and with ``--include-embeddings``. Every export runs in a fresh child
process that opens only the database engine; the child resets its peak-RSS counter
(``/proc/self/clear_refs``), exports to a temporary file, and reports wall seconds, file
size, its RSS before the export and its peak RSS (``VmHWM``) during it. Constant memory
shows as the same peak growth at 10k and 100k pairs.

The results go to a section of ``docs/benchmarks.md`` delimited by
``<!-- bench:export_speed -->`` … ``<!-- /bench -->``.

    nice -n 5 python bench/export_speed.py --pairs 10000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from common import (
    END_MARKER,
    add_common_options,
    load_text,
    log_line,
    machine_info,
    machine_table,
    table,
    write_section,
)

from medkb.app import build
from medkb.config import Settings
from medkb.models import Embeddings, QAMetadata, QAPair, Source
from medkb.stores.relational import pairs as pair_rows
from medkb.stores.relational.engine import make_engine
from medkb.stores.relational.schema import relations
from medkb.transfer.export import export_to

FORMATS = ("jsonl", "parquet", "csv")
WORDS = [
    "asthma",
    "insulin",
    "blood",
    "pressure",
    "fever",
    "cough",
    "vaccine",
    "dose",
    "kidney",
    "liver",
    "heart",
    "pain",
]
KEY = "bench:export_speed"


def synthetic_pair(i: int, rng: random.Random) -> QAPair:
    words = " ".join(rng.choices(WORDS, k=40))
    return QAPair(
        id=f"syn-{i:07d}",
        question=f"Question {i}: what about {' and '.join(rng.choices(WORDS, k=3))}?",
        response=f"Answer {i}. {words.capitalize()}.",
        metadata=QAMetadata(
            category=rng.choice(["Respiratory", "Cardiology", "Endocrinology"]),
            source="synthetic",
            tags=rng.sample(WORDS, 2),
            extra={"rank": i},
        ),
        sources=[Source(document=f"doc-{i % 500}.pdf", page=i % 300, section="Care")],
    )


def unit_vectors(count: int, rng: np.random.Generator) -> np.ndarray:
    matrix = rng.standard_normal((count, 256)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def build_kb(home: Path, size: int, cache: Path) -> str:
    """A SQLite KB of ``size`` synthetic pairs written straight to the relational store."""
    settings = Settings(home=home, embedder="static", cache_dir=cache)
    with build(settings) as kb:
        model, engine = kb.embedder.model_id, kb.engine
        rng, np_rng, now = random.Random(7), np.random.default_rng(7), datetime.now(UTC)
        for start in range(0, size, 1000):
            batch = [synthetic_pair(i, rng) for i in range(start, min(size, start + 1000))]
            q, r, c = (unit_vectors(len(batch), np_rng) for _ in range(3))
            vectors = [Embeddings(q[i], r[i], c[i], model) for i in range(len(batch))]
            with engine.begin() as conn:
                pair_rows.ensure_tenant(conn, "default", now=now)
                pair_rows.write_pairs(conn, batch, vectors, existing=[], now=now)
                conn.execute(relations.insert(), _relations(start, len(batch), rng, now))
        return settings.resolved_database_url()


def _relations(
    start: int, count: int, rng: random.Random, now: datetime
) -> list[dict[str, object]]:
    return [
        {
            "tenant_id": "default",
            "source_id": f"syn-{i:07d}",
            "target_id": f"syn-{j:07d}",
            "relation_type": "similar_to",
            "confidence_score": round(rng.uniform(0.6, 1.0), 4),
            "origin": "similarity",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(start, start + count)
        for j in sorted(set(rng.sample(range(start + count), min(5, start + count))) - {i})
    ]


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # KiB
    return 0


def child(url: str, fmt: str, embeddings: bool, output: str) -> None:
    """Run one export in this process and print its measurements as JSON."""
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status("VmRSS")
    report = export_to(engine, fmt, output, tenant_id="default", include_embeddings=embeddings)
    print(json.dumps({**report.to_dict(), "rss_before_kib": before, "peak_kib": _status("VmHWM")}))


def measure(url: str, fmt: str, embeddings: bool, workdir: Path) -> dict[str, object]:
    output = workdir / f"export.{fmt}"
    command = [sys.executable, __file__, "--child", url, fmt, str(int(embeddings)), str(output)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    output.unlink()
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run(sizes: Sequence[int], cache: Path) -> list[dict[str, object]]:
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="medkb-export-bench-") as tmp:
            started = time.perf_counter()
            url = build_kb(Path(tmp) / "home", size, cache)
            log_line(f"built a KB of {size:,} pairs in {time.perf_counter() - started:.0f} s")
            for fmt in FORMATS:
                for embeddings in (False, True):
                    result = measure(url, fmt, embeddings, Path(tmp))
                    results.append({"size": size, **result})
                    log_line(f"{size:,} {fmt} embeddings={embeddings}: {result['seconds']} s")
    return results


def render(results: Sequence[dict[str, object]], machine: object) -> str:
    header = ("pairs", "format", "embeddings", "seconds", "pairs/s", "file MiB", "RSS before MiB")
    header += ("peak RSS MiB", "peak growth MiB")
    rows = [
        (
            f"{r['size']:,}",
            str(r["format"]),
            "yes" if r["include_embeddings"] else "no",
            f"{r['seconds']:.1f}",
            f"{r['pairs_per_s']:,.0f}",
            f"{int(r['bytes']) / 2**20:,.1f}",
            f"{int(r['rss_before_kib']) / 1024:,.0f}",
            f"{int(r['peak_kib']) / 1024:,.0f}",
            f"{(int(r['peak_kib']) - int(r['rss_before_kib'])) / 1024:,.0f}",
        )
        for r in results
    ]
    return "\n".join(
        [
            f"<!-- {KEY} -->",
            "## Export speed and memory (SQLite, synthetic pairs)\n",
            machine_table(machine) + "\n",  # type: ignore[arg-type]
            f"Command: `{machine.command}`\n",  # type: ignore[attr-defined]
            "Synthetic pairs (~330-character responses, 1 source, ~5 relations each; 256-dim "
            "vectors) written straight into a SQLite KB; each export in a fresh process that "
            "opens only the database. Batches of 1,000 pairs. `peak growth` is the peak RSS "
            "during the export minus the RSS before it (`VmHWM` after `clear_refs`).\n",
            table(header, rows) + "\n",
            END_MARKER,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--child":
        child(argv[1], argv[2], argv[3] == "1", argv[4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, nargs="+", default=[10_000, 100_000])
    add_common_options(parser)
    args = parser.parse_args(argv)
    machine = machine_info("export_speed.py", argv)
    log_line(f"load average at start: {load_text(machine.load_start)}")
    results = run(args.pairs, args.cache_dir)
    machine.load_end = os.getloadavg()
    write_section(args.output, KEY, render(results, machine))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
