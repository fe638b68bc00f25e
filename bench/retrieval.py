"""Retrieval quality of each mode × embedder × data set, next to the BM25 baseline.

For every data set and embedder this builds (or reuses) one knowledge base from the data
set's ``corpus.jsonl`` — the same reuse-or-build as ``medkb eval --home`` — and runs every
judged query of ``queries.jsonl`` through ``kb.query`` in each mode (hybrid, dense,
keyword), after one untimed warm-up query, scoring against ``qrels.tsv`` with
``medkb.evaluation``.

Each (data set, embedder) gets a section of ``docs/retrieval.md`` delimited by
``<!-- bench:retrieval:DATASET:EMBEDDER -->`` … ``<!-- /bench -->``, with a JSON copy of its
numbers in a comment; the overview table at the top of the page is rebuilt from those, so a
rerun of one configuration replaces its section (with the modes of that run) and keeps the
others.

    python bench/retrieval.py --datasets mediqa2019 bioasq --embedders static
    python bench/retrieval.py --datasets mediqa2019 --embedders minilm
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medkb.app import build
from medkb.config import Settings
from medkb.evaluation.corpus import ensure_corpus
from medkb.evaluation.datasets import load_qrels, load_queries
from medkb.evaluation.harness import MODES, evaluate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DEFAULT_OUTPUT = ROOT / "docs" / "retrieval.md"
END_MARKER = "<!-- /bench -->"
OVERVIEW_START, OVERVIEW_END = "<!-- overview -->", "<!-- /overview -->"
#: Lowest qrel grade counted relevant, per data set (data/README.md: MEDIQA "correct" = 3–4
#: on the 1–4 scale, stored as grades 2–3; BioASQ gold snippets are grade 1).
MIN_RELEVANCE = {"mediqa2019": 2, "bioasq": 1}
#: The plain BM25 (k1 0.9, b 0.4) of ../shared/data/README.md.
BM25 = {
    "mediqa2019": {"recall@10": 0.653, "mrr@10": 0.660, "ndcg@10": 0.561},
    "bioasq": {"recall@10": 0.657, "mrr@10": 0.820, "ndcg@10": 0.730},
}
COLUMNS = ("recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "ndcg@10")
SPLITS = ("dev", "test")
PAGE_HEADER = f"""# Retrieval quality

Measured by `bench/retrieval.py` with `medkb eval`'s harness (`medkb.evaluation`): every
judged query goes through the real query path (`kb.query`, graph depth 1, query log off,
top 100 hits so recall@100 is measurable; each retriever then contributes
max(`search.candidates`, 100) candidates to fusion). Conventions, those of BEIR /
`pytrec_eval`: recall and MRR count a document relevant when its grade is at least the data
set's minimum (MEDIQA 2, i.e. "correct", 3–4 on the experts' 1–4 scale; BioASQ 1); nDCG@10
uses the grades as linear gains over all judged documents with a grade above 0, ideal DCG
from all of the query's judged documents; means over queries with at least one relevant
document. Latency is the wall-clock time of `kb.query` on the machine named in the section.

The BM25 rows are the baseline of `../shared/data/README.md` (a plain BM25, k1 0.9, b 0.4,
over question + answer), quoted, not rerun here. Δ is nDCG@10 relative to it.

{OVERVIEW_START}
{OVERVIEW_END}
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["mediqa2019", "bioasq"])
    parser.add_argument("--embedders", nargs="+", default=["static"])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--data", type=Path, default=DATA, help="Folder of the data sets.")
    parser.add_argument(
        "--homes", type=Path, default=Path("/tmp/medkb-retrieval"), help="Built KBs, reused."
    )
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/medkb-test-cache"))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def machine_line() -> str:
    """CPU, cores, RAM, Python and the load average, in one line."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    ram = next(
        int(line.split()[1]) / 2**20
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, {ram:.0f} GiB RAM, Python "
        f"{platform.python_version()}; load average {load}"
    )


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def split_of(query_id: str, row: dict[str, Any]) -> str:
    """``dev`` or ``test``: the data set's own ``split`` field where it has one (MEDIQA:
    ``test`` is test, ``train2_alexa`` and ``validation`` are dev), else by the first byte
    of the SHA-256 of the query id (even: dev), which halves BioASQ deterministically."""
    if "split" in row:
        return "test" if row["split"] == "test" else "dev"
    return "dev" if hashlib.sha256(query_id.encode()).digest()[0] % 2 == 0 else "test"


def split_queries(path: Path) -> dict[str, dict[str, str]]:
    """The queries of ``queries.jsonl`` by split (:func:`split_of`), then by id."""
    queries = load_queries(path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    split = {str(row.get("id", row.get("_id"))): split_of(str(row.get("id")), row) for row in rows}
    return {name: {q: t for q, t in queries.items() if split[q] == name} for name in SPLITS}


def evaluate_splits(
    kb: Any, parts: dict[str, dict[str, str]], qrels: Any, **options: Any
) -> dict[str, Any]:
    """One report per split and their query-weighted means (every metric is a mean over
    queries, so the means are exactly those of one run over all queries). Latency is that
    of the test split."""
    reports = {
        name: evaluate(kb, queries, qrels, **options).to_dict() for name, queries in parts.items()
    }
    counts = {name: report["queries"] for name, report in reports.items()}
    total = sum(counts.values()) or 1
    merged = dict(reports["test"])
    merged["metrics"] = {
        metric: round(sum(reports[n]["metrics"][metric] * counts[n] for n in reports) / total, 4)
        for metric in reports["test"]["metrics"]
    }
    merged["queries"] = sum(counts.values())
    merged["skipped"] = sum(report["skipped"] for report in reports.values())
    merged["splits"] = {
        name: {"queries": counts[name], "ndcg@10": report["metrics"]["ndcg@10"]}
        for name, report in reports.items()
    }
    return merged


def measure(args: argparse.Namespace, dataset: str, embedder: str) -> dict[str, Any]:
    """Build or reuse the KB of ``dataset`` on ``embedder`` and evaluate every mode."""
    folder = args.data / dataset
    parts, qrels = split_queries(folder / "queries.jsonl"), load_qrels(folder / "qrels.tsv")
    queries = {**parts["dev"], **parts["test"]}
    settings = Settings(
        home=args.homes / f"{dataset}-{embedder}", embedder=embedder, cache_dir=args.cache_dir
    )
    with build(settings) as kb:
        log(f"{dataset}/{embedder}: building or reusing {settings.home}")
        built = ensure_corpus(kb, folder / "corpus.jsonl")
        log(f"{dataset}/{embedder}: {built.pairs} pairs, reused={built.reused}")
        rows = {}
        for mode in args.modes:
            kb.query(next(iter(queries.values())), mode=mode, log=False)  # warm-up, not timed
            rows[mode] = evaluate_splits(
                kb, parts, qrels, mode=mode, k=10, min_relevance=MIN_RELEVANCE.get(dataset, 1)
            )
            log(f"{dataset}/{embedder}/{mode}: nDCG@10 {rows[mode]['splits']}")
        model = kb.embedder.model_id
    return {
        "dataset": dataset,
        "embedder": embedder,
        "model": model,
        "build": built.to_dict(),
        "modes": rows,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "machine": machine_line(),
        "command": shlex.join(["python", "bench/retrieval.py", *sys.argv[1:]]),
        "eval_command": eval_command(args, dataset, embedder),
    }


def eval_command(args: argparse.Namespace, dataset: str, embedder: str) -> str:
    """The ``medkb eval`` command that gives one section's hybrid row on its own."""
    folder = os.path.relpath(args.data / dataset, ROOT)
    return (
        f"medkb eval --corpus {folder}/corpus.jsonl --queries {folder}/queries.jsonl "
        f"--qrels {folder}/qrels.tsv --home {args.homes}/{dataset}-{embedder} "
        f"--embedder {embedder} --mode hybrid --min-relevance {MIN_RELEVANCE.get(dataset, 1)}"
    )


def delta(value: float, dataset: str) -> str:
    base = BM25.get(dataset, {}).get("ndcg@10")
    return f"{(value / base - 1) * 100:+.1f}%" if base else "–"


def section(result: dict[str, Any]) -> str:
    """The markdown section of one (data set, embedder) run, with its JSON in a comment."""
    dataset, embedder, built = result["dataset"], result["embedder"], result["build"]
    first = next(iter(result["modes"].values()))
    header = ("mode", *COLUMNS, "Δ nDCG@10", "nDCG@10 dev", "nDCG@10 test", "p50 ms", "p95 ms")
    rows = [
        (
            mode,
            *(f"{report['metrics'][name]:.3f}" for name in COLUMNS),
            delta(report["metrics"]["ndcg@10"], dataset),
            *split_cells(report),
            f"{report['latency_ms']['p50']:.1f}",
            f"{report['latency_ms']['p95']:.1f}",
        )
        for mode, report in result["modes"].items()
    ]
    if dataset in BM25:
        base = BM25[dataset]
        rows.append(
            ("BM25 baseline", "", "", f"{base['recall@10']:.3f}", "", f"{base['mrr@10']:.3f}",
             f"{base['ndcg@10']:.3f}", "", "", "", "", "")
        )  # fmt: skip
    built_s = built.get("built_s")
    how = f"ingest {built_s:.1f} s" if built_s is not None else "ingest time not recorded"
    how += ", home reused" if built["reused"] else f"; {built['warnings']} over-long rows truncated"
    return "\n".join(
        [
            f"<!-- bench:retrieval:{dataset}:{embedder} -->",
            f"## {dataset} · {embedder}\n",
            f"```bash\n{result['command']}\n# the hybrid row alone (--mode dense|keyword for the "
            f"others):\n{result['eval_command']}\n```\n",
            f"{result['date']}, commit {result['commit']}; {result['machine']}.\n",
            f"Model `{result['model']}`; {built['pairs']:,} pairs ({how}); "
            f"{first['queries']:,} queries with a relevant document, "
            f"{first['skipped']} without; minimum relevant grade {first['min_relevance']}.\n",
            table(header, rows),
            f"\n<!-- data: {json.dumps(result, sort_keys=True)} -->",
            END_MARKER,
        ]
    )


def split_cells(report: dict[str, Any]) -> tuple[str, str]:
    """nDCG@10 of the dev and test splits, blank for runs made before splits."""
    splits = report.get("splits", {})
    return tuple(  # type: ignore[return-value]
        f"{splits[name]['ndcg@10']:.3f}" if name in splits else "" for name in SPLITS
    )


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def overview(text: str) -> str:
    """nDCG@10 of every mode × embedder × data set found in the page's sections."""
    results = [json.loads(found) for found in re.findall(r"<!-- data: (.*?) -->", text)]
    results.sort(key=lambda r: (r["dataset"], r["embedder"]))
    rows = []
    for dataset in sorted({r["dataset"] for r in results}):
        if dataset in BM25:
            base = f"{BM25[dataset]['ndcg@10']:.3f}"
            rows.append((dataset, "—", "BM25 baseline", base, "", "", ""))
        for result in (r for r in results if r["dataset"] == dataset):
            for mode, report in result["modes"].items():
                value = report["metrics"]["ndcg@10"]
                cells = (f"{value:.3f}", delta(value, dataset), *split_cells(report))
                rows.append((dataset, result["embedder"], mode, *cells))
    header = ("data set", "embedder", "mode", "nDCG@10", "Δ vs BM25", "dev", "test")
    return f"{OVERVIEW_START}\n{table(header, rows)}\n{OVERVIEW_END}"


def write_section(path: Path, key: str, body: str) -> None:
    """Replace ``key``'s section (or append it), then rebuild the overview table."""
    text = path.read_text(encoding="utf-8") if path.exists() else PAGE_HEADER
    pattern = re.compile(re.escape(f"<!-- {key} -->") + r".*?" + re.escape(END_MARKER), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _match: body, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + body
    block = re.compile(re.escape(OVERVIEW_START) + r".*?" + re.escape(OVERVIEW_END), re.S)
    text = block.sub(lambda _match: overview(text), text, count=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for dataset in args.datasets:
        for embedder in args.embedders:
            result = measure(args, dataset, embedder)
            write_section(args.output, f"bench:retrieval:{dataset}:{embedder}", section(result))
            log(f"wrote {dataset}/{embedder} to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
