"""``medkb migrate`` speed: a SQLite + local knowledge base of N pairs → PostgreSQL + local.

Builds a knowledge base from the first N pairs of a corpus (BioASQ by default, static
embedder, ``kb.add`` in batches of 64, a few logged queries), then runs
:func:`medkb.relocate.migrate.migrate` into an empty PostgreSQL database (created and
dropped by this script): every table copied in keyset batches, counted and checksummed on
both sides, the local vector store kept and verified against the new database. A second
run into the same target measures the re-run (everything verified, nothing copied).

The results go to a section of ``docs/benchmarks.md`` delimited by
``<!-- bench:migrate:PAIRS -->`` … ``<!-- /bench -->``.

    nice -n 5 python bench/migrate_speed.py --pairs 10000 \\
        --target postgresql://postgres@127.0.0.1:5432/bench_migrate   # created, dropped
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from common import (
    BATCH,
    DATA,
    END_MARKER,
    Machine,
    add_common_options,
    build_kb,
    empty_databases,
    load_pairs,
    load_text,
    log_line,
    machine_info,
    machine_table,
    table,
    write_section,
)

from medkb.config import Settings
from medkb.relocate.migrate import MigrateReport, migrate

QUERIES = ("What causes cystic fibrosis?", "Which drugs treat hypertension?")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.jsonl")
    parser.add_argument(
        "--target",
        default="postgresql://postgres@127.0.0.1:5432/bench_migrate",
        help="PostgreSQL database this script creates, migrates into and drops.",
    )
    parser.add_argument("--batch-size", type=int, default=1000)
    add_common_options(parser)
    return parser.parse_args(argv)


def measure(args: argparse.Namespace, home: Path, target: str) -> list[MigrateReport]:
    source = Settings(home=home, embedder="static", cache_dir=args.cache_dir)
    log_line(f"building {args.pairs} pairs ...")
    seconds = build_kb(source, load_pairs(args.corpus, args.pairs), QUERIES)
    log_line(f"built in {seconds:.1f} s")
    reports = []
    for label in ("first run", "re-run"):
        report = migrate(source, target_url=target, batch_size=args.batch_size)
        log_line(f"migrate ({label}): {report.seconds:.1f} s, ok={report.ok}")
        reports.append(report)
    return reports


def tables_table(report: MigrateReport) -> str:
    rows = [
        (f"`{t.table}`", f"{t.rows:,}", f"{t.seconds:.2f}", "yes" if t.match else "NO")
        for t in report.tables
    ]
    return table(("table", "rows", "copy + verify s", "checksums match"), rows)


def summary_table(reports: Sequence[MigrateReport]) -> str:
    rows = []
    for label, report in zip(("first run", "re-run (resume check)"), reports, strict=True):
        vectors = report.vectors
        rows.append(
            (
                label,
                f"{sum(t.copied for t in report.tables):,}",
                f"{sum(t.seconds for t in report.tables):.1f}",
                f"{vectors.seconds:.1f}" if vectors else "-",
                f"**{report.seconds:.1f}**",
                "yes" if report.ok else "NO",
            )
        )
    header = ("run", "rows copied", "tables s", "vectors verify s", "total s", "all match")
    return table(header, rows)


def render(key: str, machine: Machine, reports: Sequence[MigrateReport], args: object) -> str:
    assert isinstance(args, argparse.Namespace)
    return "\n".join(
        [
            f"<!-- {key} -->",
            f"## Migrate: {args.pairs:,} pairs, sqlite + local → postgresql + local\n",
            f"```bash\n{machine.command}\n```\n",
            f"Knowledge base: first {args.pairs:,} pairs of `{args.corpus.name}` "
            f"(`{args.corpus.parent.name}`), static embedder, added with `kb.add` in batches "
            f"of {BATCH}, plus {len(QUERIES)} logged queries. Target: an empty database on "
            f"the local PostgreSQL service; batches of {args.batch_size} rows. The local "
            "vector store is kept and verified (`sync verify`) against the new database. "
            "Shared machine: see the load averages.\n",
            machine_table(machine) + "\n",
            summary_table(reports) + "\n",
            "Per table, first run (each table is checksummed on both sides after copying):\n",
            tables_table(reports[0]) + "\n",
            "On the re-run every table is checksummed on both sides once, while checking that "
            "the target holds this same knowledge base (so its per-table column reads 0); "
            "nothing is copied. `vectors verify s` applies pending outbox rows and runs `sync "
            "verify` over all records.\n",
            END_MARKER,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    machine = machine_info("migrate_speed.py", argv)
    log_line(f"load average at start: {load_text(machine.load_start)}")
    with tempfile.TemporaryDirectory() as tmp, empty_databases(args.target) as (target,):
        assert target is not None
        reports = measure(args, Path(tmp) / "home", target)
    machine.load_end = os.getloadavg()
    key = f"bench:migrate:{args.pairs}"
    write_section(args.output, key, render(key, machine, reports, args))
    log_line(f"wrote section {key} to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
