"""Scaffolding the bench scripts share: the machine, sections of docs/benchmarks.md, KBs.

The scripts run as ``python bench/X.py``, so ``bench/`` is on ``sys.path`` and they import
this module as ``common``.

- :func:`machine_info` / :func:`machine_table`: where and when the numbers were taken
  (CPU, cores, RAM, Python, commit, date, the command, load averages at start and end);
- :func:`write_section`: replace (or append) the section between ``<!-- KEY -->`` and
  ``<!-- /bench -->`` in ``docs/benchmarks.md``, leaving the rest of the file alone;
- :func:`load_pairs` / :func:`build_kb`: a knowledge base of the first N corpus pairs;
- :func:`empty_databases`: PostgreSQL databases created empty and dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shlex
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from medkb.app import build
from medkb.config import Settings
from medkb.ingest.loaders import load_file
from medkb.models import QAPair

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "bioasq"
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
END_MARKER = "<!-- /bench -->"
PAGE_HEADER = (
    "# Benchmarks\n\n"
    "Measured numbers, each section with the machine and the command that produced it. "
    "Scripts are in `bench/`.\n"
)
#: Pairs per ``kb.add`` call when a script builds its knowledge base.
BATCH = 64


@dataclass
class Machine:
    """Where and when the numbers were taken."""

    cpu: str
    cores: int
    ram_gib: float
    python: str
    commit: str
    date: str
    command: str
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)


# --- options ----------------------------------------------------------------------------------


def add_database_option(parser: argparse.ArgumentParser, *, also: str = "") -> None:
    """``--database-url``: SQLite by default, or a PostgreSQL database the script manages."""
    parser.add_argument(
        "--database-url",
        default=None,
        help="Default SQLite in a temp dir. A postgresql:// URL names a database this script "
        f"creates and drops{also}.",
    )


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """``--cache-dir`` (where the embedder's model is cached) and ``--output`` (the page)."""
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/medkb-test-cache"))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)


# --- machine --------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def git_commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (
        " (src/ has uncommitted changes)" if git("status", "--porcelain", "src") else ""
    )


def redact(text: str) -> str:
    """Hide passwords in URLs (``scheme://user:secret@host`` → ``user:***@host``)."""
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


def machine_info(script: str, argv: Sequence[str]) -> Machine:
    """The machine now, and the command ``python bench/SCRIPT ARGV`` as it was run (with
    ``nice -n N`` when this process runs at a lowered priority)."""
    niceness = os.nice(0)
    command = ["nice", "-n", str(niceness)] if niceness > 0 else []
    return Machine(
        cpu=cpu_model(),
        cores=os.cpu_count() or 0,
        ram_gib=ram_gib(),
        python=platform.python_version(),
        commit=git_commit(),
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        command=redact(shlex.join([*command, "python", f"bench/{script}", *argv])),
        load_start=os.getloadavg(),
    )


# --- rendering ------------------------------------------------------------------------------


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def load_text(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


def machine_table(machine: Machine) -> str:
    rows = [
        ("CPU", f"{machine.cpu}, {machine.cores} cores (os.cpu_count)"),
        ("RAM", f"{machine.ram_gib:.1f} GiB"),
        ("Python", machine.python),
        ("medkb commit", machine.commit),
        ("date", machine.date),
        ("load average 1/5/15 min, start", load_text(machine.load_start)),
        ("load average 1/5/15 min, end", load_text(machine.load_end)),
    ]
    return table(("machine", ""), rows)


def write_section(path: Path, key: str, section: str) -> None:
    """Replace the section delimited by ``key``'s marker, or append it; keep the rest."""
    text = path.read_text(encoding="utf-8") if path.exists() else PAGE_HEADER
    pattern = re.compile(re.escape(f"<!-- {key} -->") + r".*?" + re.escape(END_MARKER), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _match: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def log_line(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- knowledge bases ------------------------------------------------------------------------


def load_pairs(corpus: Path, limit: int) -> list[QAPair]:
    """The first ``limit`` pairs of a corpus file (over-long rows truncated)."""
    pairs = load_file(corpus, overlong="truncate").pairs[:limit]
    if len(pairs) < limit:
        raise SystemExit(f"{corpus} has only {len(pairs)} pairs; asked for {limit}.")
    return pairs


def build_kb(settings: Settings, pairs: Sequence[QAPair], queries: Sequence[str] = ()) -> float:
    """Seconds to add ``pairs`` with ``kb.add`` in batches of :data:`BATCH`, then query."""
    started = time.perf_counter()
    with build(settings) as kb:
        for start in range(0, len(pairs), BATCH):
            kb.add(pairs[start : start + BATCH])
        for question in queries:
            kb.query(question)
    return time.perf_counter() - started


@contextmanager
def empty_databases(url: str | None, count: int = 1) -> Iterator[list[str | None]]:
    """``url``'s database and ``count - 1`` more (``<name>_r1`` …), empty, dropped afterwards.

    With ``url`` None (SQLite in the script's temp dir) this yields ``count`` Nones.
    """
    if url is None:
        yield [None] * count
        return
    base = sa.engine.make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    names = [base.database, *(f"{base.database}_r{i}" for i in range(1, count))]
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield [base.set(database=n).render_as_string(hide_password=False) for n in names]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
