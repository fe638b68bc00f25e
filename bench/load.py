"""Load on ``medkb serve``: N concurrent clients mixing queries (90 %) and writes (10 %).

Starts ``medkb serve`` (static embedder, ``--workers W``; several workers need
``--database-url postgresql://...``) in a temporary home, makes a tenant and a key, loads
the bundled demo pairs plus ``--pairs`` synthetic ones, then runs ``--clients`` threads for
``--seconds``: each request is ``POST /v1/query`` with a random demo question (90 %) or
``POST /v1/pairs`` (10 %). It reports requests/s, query and write latency percentiles and
every error, and with ``--write-docs`` replaces its ``bench:load-<backend>-<workers>`` section of
``docs/benchmarks.md``.

    nice -n 5 python bench/load.py --clients 8 --seconds 60
    nice -n 5 python bench/load.py --workers 2 --database-url postgresql://postgres@127.0.0.1/x
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from common import ROOT, machine_info, machine_table, redact, table, write_section

sys.path.insert(0, str(ROOT))
from tests.api.server import make_keys, server_env, start_server

QUESTIONS = [
    "What are the symptoms of hypertension?",
    "How is type 2 diabetes treated?",
    "What causes asthma attacks?",
    "How can I lower my cholesterol?",
    "When should a child get the flu vaccine?",
    "What are the warning signs of a stroke?",
]


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="Concurrent clients.")
    parser.add_argument("--seconds", type=float, default=60, help="How long to run.")
    parser.add_argument("--workers", type=int, default=1, help="medkb serve --workers.")
    parser.add_argument("--pairs", type=int, default=500, help="Synthetic pairs loaded first.")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite in the home).")
    parser.add_argument("--write-docs", action="store_true", help="Update docs/benchmarks.md.")
    return parser.parse_args(argv)


class Recorder:
    """Latencies per kind and errors, from many threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ms: dict[str, list[float]] = {"query": [], "write": []}
        self.errors: list[str] = []

    def add(self, kind: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.ms[kind].append(ms)
            if error:
                self.errors.append(error)


def client_loop(url: str, key: str, until: float, seed: int, out: Recorder) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        n = 0
        while time.monotonic() < until:
            n += 1
            write = rng.random() < 0.1
            started = time.perf_counter()
            if write:
                body = {"question": f"Load question {seed}-{n}?", "response": f"Answer {n}."}
                response = http.post("/v1/pairs", json=body)
            else:
                response = http.post("/v1/query", json={"query": rng.choice(QUESTIONS)})
            ms = (time.perf_counter() - started) * 1000
            error = (
                None
                if response.status_code < 400
                else f"{response.status_code} {response.text[:200]}"
            )
            out.add("write" if write else "query", ms, error)


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def seed_pairs(url: str, key: str, count: int) -> None:
    demo = ROOT / "src" / "medkb" / "demo" / "qa.jsonl"
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        job = http.post("/v1/documents", files=[("files", ("qa.jsonl", demo.read_bytes()))]).json()
        while http.get(f"/v1/documents/jobs/{job['id']}").json()["state"] not in ("done", "failed"):
            time.sleep(0.2)
        for i in range(count):
            body = {"question": f"What is synthetic condition {i}?", "response": f"Condition {i}."}
            http.post("/v1/pairs", json=body).raise_for_status()


def run(args: argparse.Namespace) -> tuple[dict[str, float], Recorder]:
    home = Path(tempfile.mkdtemp(prefix="medkb-load-"))
    database_url = args.database_url or f"sqlite:///{home / 'kb.db'}"
    keys = make_keys(database_url, ["load"])
    cache = Path(os.environ.get("MEDKB_TEST_CACHE", Path.home() / ".cache" / "medkb"))
    env = server_env(
        home / "home",
        database_url,
        cache,
        MEDKB_API__RATE_PER_S="100000",
        MEDKB_API__RATE_BURST="100000",
    )
    extra = ("--workers", str(args.workers)) if args.workers > 1 else ()
    server = start_server(env, home / "server.log", *extra)
    try:
        seed_pairs(server.url, keys["load"], args.pairs)
        out = Recorder()
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=client_loop, args=(server.url, keys["load"], until, i, out))
            for i in range(args.clients)
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    total = len(out.ms["query"]) + len(out.ms["write"])
    summary = {"requests_per_s": total / elapsed, "queries_per_s": len(out.ms["query"]) / elapsed}
    for kind, values in out.ms.items():
        for share in (0.5, 0.95, 0.99):
            summary[f"{kind}_p{round(share * 100)}_ms"] = pct(values, share) if values else 0.0
        summary[f"{kind}_count"] = len(values)
    return summary, out


def main(argv: Sequence[str]) -> None:
    args = parse(argv)
    machine = machine_info("load.py", argv)
    summary, out = run(args)
    machine.load_end = os.getloadavg()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    for key, value in summary.items():
        print(f"{key}: {value:.1f}")
    print(f"errors: {len(out.errors)}", *out.errors[:5], sep="\n  ")
    if args.write_docs:
        key = f"bench:load-{backend.lower()}-{args.workers}"
        rows = [
            (
                kind,
                str(int(summary[f"{kind}_count"])),
                *(f"{summary[f'{kind}_p{p}_ms']:.1f}" for p in (50, 95, 99)),
            )
            for kind in ("query", "write")
        ]
        section = "\n\n".join(
            [
                f"<!-- {key} -->\n## Load: `medkb serve --workers {args.workers}` on {backend}",
                f"{args.clients} clients for {args.seconds:g} s against `medkb serve --workers "
                f"{args.workers}` on {backend}, static embedder, 90 % `POST /v1/query`, 10 % "
                "`POST /v1/pairs`, clients on the same machine; "
                f"{summary['requests_per_s']:.1f} requests/s "
                f"({summary['queries_per_s']:.1f} queries/s), {len(out.errors)} errors.",
                table(("request", "count", "p50 ms", "p95 ms", "p99 ms"), rows),
                machine_table(machine),
                f"Command: `{redact(machine.command)}`\n<!-- /bench -->",
            ]
        )
        write_section(ROOT / "docs" / "benchmarks.md", key, section)


if __name__ == "__main__":
    main(sys.argv[1:])
