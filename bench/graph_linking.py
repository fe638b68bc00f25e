"""Ingest time with similarity linking, and the graph check of ``sync verify``.

Adds the first N pairs of the BioASQ corpus with ``kb.add`` in batches of 64 (the first
batch is a warm-up and not timed) into a fresh SQLite + local knowledge base on the
static embedder, then times ``sync.graph.verify_graph`` over the result. Prints one line
per measurement; run it against two checkouts (``PYTHONPATH=<checkout>/src``) to compare
linking implementations (``--no-verify`` where ``medkb.sync.graph`` does not exist).

    OPENBLAS_NUM_THREADS=1 python bench/graph_linking.py --pairs 3000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from medkb.app import build
from medkb.config import Settings
from medkb.ingest.loaders.registry import load_file
from medkb.stores.relational import relations

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "bioasq" / "corpus.jsonl"
BATCH = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3000)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/medkb-test-cache"))
    parser.add_argument("--no-verify", action="store_true", help="Skip the graph check.")
    args = parser.parse_args()
    pairs = load_file(args.corpus, overlong="truncate").pairs[: args.pairs]
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), embedder="static", cache_dir=args.cache_dir)
        with build(settings) as kb:
            kb.add(pairs[:BATCH])
            started = time.perf_counter()
            for start in range(BATCH, len(pairs), BATCH):
                kb.add(pairs[start : start + BATCH])
            took = time.perf_counter() - started
            with kb.engine.connect() as conn:
                links = relations.count_relations(conn, tenant_id=kb.tenant_id)
            print(
                f"ingest: {len(pairs) - BATCH} pairs in {took:.2f} s "
                f"({(len(pairs) - BATCH) / took:.0f} pairs/s); relations {links}"
            )
            if not args.no_verify:
                from medkb.sync.graph import verify_graph

                started = time.perf_counter()
                report = verify_graph(kb.engine, tenant_id=kb.tenant_id, graph=kb.settings.graph)
                print(
                    f"verify_graph: {report.pairs} pairs in {time.perf_counter() - started:.2f} s; "
                    f"missing {len(report.missing)}, dangling {len(report.dangling)}"
                )


if __name__ == "__main__":
    main()
