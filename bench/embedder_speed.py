"""Embedding throughput (texts/s) of the embedders on this machine.

Short texts are the MEDIQA 2019 queries of at most 15 words (median 6); long texts are the
corpus answers cut to their first 100 words. Each figure is the best of --repeats runs.

    python bench/embedder_speed.py                 # static and minilm
    python bench/embedder_speed.py --only static
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from medkb.embed.base import Embedder
from medkb.embed.minilm import MiniLMEmbedder, available_cpus
from medkb.embed.static import StaticEmbedder

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mediqa2019"


def texts(data: Path) -> dict[str, list[str]]:
    queries = [json.loads(line)["query"] for line in (data / "queries.jsonl").open()]
    answers = [json.loads(line)["answer"] for line in (data / "corpus.jsonl").open()]
    return {
        "short questions": [q for q in queries if len(q.split()) <= 15],
        "100-word answers": [" ".join(a.split()[:100]) for a in answers if len(a.split()) >= 100],
    }


def throughput(
    embedder: Embedder, sample: list[str], *, count: int, repeats: int
) -> tuple[float, float]:
    """Texts per wall-clock second and per CPU second (all threads), best of ``repeats``.

    Other processes competing for the cores lower the first figure but barely the second.
    """
    batch = (sample * (count // len(sample) + 1))[:count]
    embedder.embed(batch[:64])  # warm up
    wall = cpu = float("inf")
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        embedder.embed(batch)
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return count / wall, count / cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "medkb-bench"
    )
    parser.add_argument("--only", choices=["static", "minilm"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    samples = texts(args.data)
    print(f"{available_cpus()} CPUs available", flush=True)
    embedders: list[tuple[StaticEmbedder | MiniLMEmbedder, int]] = []
    if args.only in (None, "static"):
        embedders.append((StaticEmbedder(args.cache_dir), 20_000))
    if args.only in (None, "minilm"):
        embedders.append((MiniLMEmbedder(batch_size=64), 640))
    for embedder, count in embedders:
        embedder.load()
        for label, sample in samples.items():
            n = count if label.startswith("short") else max(count // 8, 64)
            wall, cpu = throughput(embedder, sample, count=n, repeats=args.repeats)
            print(
                f"{embedder.model_id:<40} {label:<18} {wall:>9.0f} texts/s"
                f"  ({cpu:.0f} per CPU-second)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
