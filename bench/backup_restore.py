"""Backup and restore times (RTO) and sizes for a knowledge base of N pairs.

Builds a knowledge base from the first N pairs of a corpus (BioASQ by default, static
embedder, ``kb.add`` in batches of 64), then measures:

- ``medkb backup`` in the native form (SQLite online backup / ``pg_dump -Fc``) and in the
  logical form (``--logical``, JSONL per table): wall seconds and bytes per part;
- ``medkb restore`` of each into an empty home (and, for PostgreSQL, an empty database
  on the same server): wall seconds per step, with the vectors loaded from the export
  (``--vectors load``) and, for the native backup, rebuilt from the stored embeddings
  (``--vectors rebuild``). Every restore ends with ``sync verify`` at zero drift.

The results go to a section of ``docs/benchmarks.md`` delimited by
``<!-- bench:backup_restore:PAIRS:DATABASE -->`` … ``<!-- /bench -->``.

    nice -n 5 python bench/backup_restore.py --pairs 10000
    nice -n 5 python bench/backup_restore.py --pairs 10000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_backup   # created, dropped
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import (
    BATCH,
    DATA,
    END_MARKER,
    Machine,
    add_common_options,
    add_database_option,
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

from medkb.backup.restore import RestoreReport, restore
from medkb.backup.snapshot import BackupReport, backup
from medkb.config import Settings


@dataclasses.dataclass
class Run:
    """One backup and the restores made from it."""

    label: str
    backup: BackupReport
    restores: list[tuple[str, RestoreReport, float]]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.jsonl")
    add_database_option(parser, also=" (and <name>_r1.. for the restores)")
    add_common_options(parser)
    return parser.parse_args(argv)


def settings_for(args: argparse.Namespace, home: Path, url: str | None) -> Settings:
    return Settings(home=home, embedder="static", cache_dir=args.cache_dir, database_url=url)


def measure(args: argparse.Namespace, root: Path, urls: list[str | None]) -> list[Run]:
    source = settings_for(args, root / "home", urls[0])
    log_line(f"building {args.pairs} pairs ...")
    seconds = build_kb(source, load_pairs(args.corpus, args.pairs))
    log_line(f"built in {seconds:.1f} s")
    runs, targets = [], iter(urls[1:])
    plans = [("native", False, ("load", "rebuild")), ("logical", True, ("load",))]
    for label, logical, methods in plans:
        made = backup(source, str(root / "backups"), logical=logical)
        log_line(f"{label} backup: {made.seconds:.1f} s")
        restores = []
        for method in methods:
            target = settings_for(args, root / f"restore-{label}-{method}", next(targets))
            started = time.perf_counter()
            report = restore(target, made.location, method=method)
            wall = time.perf_counter() - started
            log_line(f"{label} restore ({method}): {wall:.1f} s, clean={report.clean}")
            restores.append((method, report, wall))
        runs.append(Run(label, made, restores))
    return runs


# --- rendering ------------------------------------------------------------------------------


def mib(size: float) -> str:
    return f"{size / 2**20:.1f}"


def part_sizes(report: BackupReport) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for name, entry in report.manifest.files.items():
        part = name.split("/", 1)[0]
        sizes[part] = sizes.get(part, 0) + int(entry["size"])
    return sizes


def backup_table(runs: Sequence[Run]) -> str:
    rows = []
    for run in runs:
        sizes = part_sizes(run.backup)
        rows.append(
            (
                f"{run.label} (`{run.backup.manifest.relational['kind']}`)",
                f"{run.backup.seconds:.1f}",
                mib(sizes.get("relational", 0)),
                mib(sizes.get("vectors", 0)),
                mib(sum(sizes.values())),
            )
        )
    header = ("backup", "wall s", "relational MiB", "vectors MiB", "total MiB")
    return table(header, rows)


def restore_table(runs: Sequence[Run]) -> str:
    rows = []
    for run in runs:
        for method, report, wall in run.restores:
            steps = report.steps
            rows.append(
                (
                    f"{run.label}, vectors `{method}`",
                    f"{steps.get('check', 0):.1f}",
                    f"{steps.get('relational', 0):.1f}",
                    f"{steps.get('vectors', 0):.1f}",
                    f"{steps.get('verify', 0):.1f}",
                    f"**{wall:.1f}**",
                    "yes" if report.clean else "NO",
                )
            )
    header = ("restore", "check s", "relational s", "vectors s", "verify s", "total s", "0 drift")
    return table(header, rows)


def render(key: str, title: str, machine: Machine, *, runs: Sequence[Run], args: Any) -> str:
    return "\n".join(
        [
            f"<!-- {key} -->",
            f"## {title}\n",
            f"```bash\n{machine.command}\n```\n",
            f"Knowledge base: first {args.pairs:,} pairs of `{args.corpus.name}` "
            f"(`{args.corpus.parent.name}`), static embedder, added with `kb.add` in batches "
            f"of {BATCH} (relations, sources, embeddings, sync status; no object files). "
            "Backups to a local folder on the same disk; each restore into an empty home "
            "(and database). Shared machine: see the load averages.\n",
            machine_table(machine) + "\n",
            "### Backup\n",
            backup_table(runs) + "\n",
            "### Restore (RTO)\n",
            restore_table(runs) + "\n",
            "`check` recomputes every SHA-256 and reads the manifest before anything is "
            "written; `relational` is the file copy / `pg_restore` / JSONL load plus the "
            "migration to head and the row-count check; `vectors` loads the exported "
            "collection (or rebuilds it from the stored embeddings); `verify` applies restored "
            "outbox rows and runs `sync verify` (re-applying any drifting id from the relational "
            "data and verifying again); its report must show zero drift. The total is the "
            "recovery time once the backup is on local disk (add the download for S3).\n",
            END_MARKER,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    machine = machine_info("backup_restore.py", argv)
    log_line(f"load average at start: {load_text(machine.load_start)}")
    with tempfile.TemporaryDirectory() as tmp, empty_databases(args.database_url, 4) as urls:
        runs = measure(args, Path(tmp), urls)
    machine.load_end = os.getloadavg()
    database = "postgresql" if args.database_url else "sqlite"
    key = f"bench:backup_restore:{args.pairs}:{database}"
    title = f"Backup and restore: {args.pairs:,} pairs, {database} + local"
    write_section(args.output, key, render(key, title, machine, runs=runs, args=args))
    log_line(f"wrote section {key} to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
