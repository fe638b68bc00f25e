"""Safety measurements for ``docs/safety.md``: red flags and the abstention trade-off.

``python bench/safety.py redflags [--split dev|heldout|all] [--write]``
    Precision, recall and F1 of :func:`medkb.answer.redflags.detect` on
    ``tests/data/red_flags.jsonl`` (dev half: tuned on; held-out half: measured only).

``python bench/safety.py triage [--embedder none|static|minilm] [--unseen] [--write]``
    Emergency recall, false alarms on look-alikes, per-category recall, errors and latency
    of :mod:`medkb.answer.triage` on the ``report`` half of ``tests/data/triage.jsonl``
    (``bench/triage_eval.py``, ``bench/triage_report.py``).

``python bench/safety.py abstain --embedder static [--home DIR] [--write]``
    Runs answerable queries (MEDIQA 2019, those with a "correct" answer) and unanswerable
    ones (a sample of BioASQ questions, ``tests/data/off_topic.jsonl``, and MEDIQA queries
    whose judged documents are removed from the hits) through the real query path of a KB
    of the MEDIQA corpus, computes the abstention signals, picks thresholds on one half of
    every set (by a hash of the query id) and reports the other half. ``--home`` is copied
    to a temporary directory first; without it the corpus is ingested under
    ``/tmp/medkb-safety``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import triage_report  # noqa: E402
from retrieval import git_commit, machine_line  # noqa: E402

from medkb.answer import abstain, redflags  # noqa: E402
from medkb.answer.extractive import Evidence  # noqa: E402
from medkb.app import build  # noqa: E402
from medkb.config import Settings  # noqa: E402
from medkb.evaluation.corpus import ensure_corpus  # noqa: E402
from medkb.search.results import Hit  # noqa: E402
from medkb.search.text import normalise_query  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RED_FLAGS = ROOT / "tests" / "data" / "red_flags.jsonl"
OFF_TOPIC = ROOT / "tests" / "data" / "off_topic.jsonl"
OUTPUT = ROOT / "docs" / "safety.md"
END = "<!-- /bench -->"
BIOASQ_SAMPLE = 500
#: Most answerable queries (calibration half) that may be refused.
MAX_ANSWERABLE_ABSTAIN = 0.05
COSINES = [round(0.2 + 0.025 * i, 3) for i in range(29)]
OVERLAPS = [0.0, 0.1, 0.2, 0.25, 0.3, 0.34, 0.4, 0.5]
SETS = ("answerable", "bioasq", "off_topic", "removed")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    flags = sub.add_parser("redflags", help="precision/recall of the red-flag detector")
    flags.add_argument("--split", choices=["dev", "heldout", "all"], default="dev")
    flags.add_argument("--errors", action="store_true", help="print misclassified queries")
    flags.add_argument("--write", action="store_true", help=f"update {OUTPUT.name}")
    triage_report.add_parser(sub)
    abst = sub.add_parser("abstain", help="abstention trade-off on MEDIQA / BioASQ")
    abst.add_argument("--embedder", choices=["static", "minilm"], default="static")
    abst.add_argument("--home", type=Path, help="a KB of the MEDIQA corpus (copied first)")
    abst.add_argument("--cache-dir", type=Path, default=Path("/tmp/medkb-test-cache"))
    abst.add_argument("--write", action="store_true", help=f"update {OUTPUT.name}")
    return parser.parse_args(argv)


# --- red flags -------------------------------------------------------------------------


def redflag_scores(rows: Iterable[dict[str, str]]) -> dict[str, Any]:
    """Confusion counts, precision, recall, F1 and category agreement of ``detect``."""
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    same_category, errors = 0, []
    for row in rows:
        flag = redflags.detect(row["query"])
        gold = row["label"] == "emergency"
        key = ("t" if bool(flag) == gold else "f") + ("p" if flag else "n")
        counts[key] += 1
        same_category += bool(flag and gold and flag.category == row["category"])
        if key in ("fp", "fn"):
            errors.append(f"{key.upper()} [{row['category']}] {row['query']}")
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        **counts,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "category_agreement": same_category / tp if tp else 0.0,
        "errors": errors,
    }


def redflags_command(args: argparse.Namespace) -> None:
    rows = [json.loads(line) for line in RED_FLAGS.read_text().splitlines() if line.strip()]
    splits = ["dev", "heldout", "all"] if args.write else [args.split]
    results = {}
    for split in splits:
        part = [row for row in rows if split == "all" or row["split"] == split]
        results[split] = redflag_scores(part)
        score = results[split]
        print(
            f"{split}: {len(part)} queries · precision {score['precision']:.3f} · recall "
            f"{score['recall']:.3f} · F1 {score['f1']:.3f} · tp {score['tp']} fp {score['fp']} "
            f"fn {score['fn']} tn {score['tn']}"
        )
        if args.errors:
            print("\n".join(f"  {error}" for error in score["errors"]))
    if args.write:
        write_section("bench:safety:redflags", redflags_section(rows, results))


def redflags_section(rows: list[dict[str, str]], results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "<!-- bench:safety:redflags -->",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit "
        f"{git_commit()}: `python bench/safety.py redflags --write`",
        "",
        "| part | queries | emergencies | precision | recall | F1 | tp | fp | fn | tn | "
        "category agrees |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for split, score in results.items():
        part = [row for row in rows if split == "all" or row["split"] == split]
        emergencies = sum(row["label"] == "emergency" for row in part)
        lines.append(
            f"| {split} | {len(part)} | {emergencies} | {score['precision']:.3f} | "
            f"{score['recall']:.3f} | {score['f1']:.3f} | {score['tp']} | {score['fp']} | "
            f"{score['fn']} | {score['tn']} | {score['category_agreement']:.2f} |"
        )
    missed = results.get("heldout", {}).get("errors", [])
    if missed:
        lines += ["", "Held-out errors (seen only after the cues were frozen):", ""]
        lines += [f"- {error}" for error in missed]
    return "\n".join([*lines, END])


# --- abstention ------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One query's abstention signals."""

    kind: str  # one of SETS
    half: str  # calib | test
    cosine: float | None
    overlap: float


def half_of(query_id: str) -> str:
    digest = hashlib.sha1(query_id.encode()).hexdigest()
    return "calib" if int(digest[:8], 16) % 2 == 0 else "test"


def query_sets() -> list[tuple[str, str, str, set[str]]]:
    """(kind, id, text, ids to remove from the hits) for every query measured."""
    found: list[tuple[str, str, str, set[str]]] = []
    for line in (DATA / "mediqa2019" / "queries.jsonl").read_text().splitlines():
        row = json.loads(line)
        if any(grade >= 2 for grade in row.get("qrels", {}).values()):
            found.append(("answerable", row["id"], row["query"], set()))
            found.append(("removed", row["id"], row["query"], set(row["qrels"])))
    bioasq = [json.loads(line) for line in (DATA / "bioasq" / "queries.jsonl").open()]
    random.Random(7).shuffle(bioasq)
    found += [("bioasq", row["id"], row["query"], set()) for row in bioasq[:BIOASQ_SAMPLE]]
    for number, line in enumerate(OFF_TOPIC.read_text().splitlines()):
        found.append(("off_topic", f"off-{number}", json.loads(line)["query"], set()))
    return found


def evidence(hit: Hit) -> Evidence:
    """The evidence the answer step sees for ``hit`` (as in ``search.service``)."""
    dense = [value for name, value in hit.scores.items() if name.startswith("dense:")]
    return Evidence(
        id=hit.pair.id,
        question=hit.pair.question,
        response=hit.pair.response,
        score=hit.score,
        cosine=max(dense, default=0.0),  # hybrid mode: dense search ran
    )


def collect(settings: Settings) -> list[Record]:
    records, mismatches = [], 0
    with build(settings) as kb:
        for number, (kind, query_id, text, removed) in enumerate(query_sets(), start=1):
            if number % 100 == 0:
                print(f"[{time.strftime('%H:%M:%S')}] {number} queries", file=sys.stderr)
            result = kb.query(text, top_k=40, log=False)
            kept = [evidence(hit) for hit in result.hits if hit.pair.id not in removed]
            found = abstain.signals(normalise_query(result.query), kept[:10])
            if kind == "answerable" and found.to_dict() != result.info.signals:
                mismatches += 1
            records.append(Record(kind, half_of(query_id), found.cosine, found.overlap))
    print(f"{len(records)} queries; signals differing from the query path: {mismatches}")
    return records


def abstain_rate(records: Sequence[Record], cosine: float, overlap: float) -> float:
    refused = sum(
        abstain.weak(abstain.Signals(r.cosine, r.overlap), min_cosine=cosine, min_overlap=overlap)
        for r in records
    )
    return refused / len(records) if records else 0.0


def rates(records: Sequence[Record], half: str, cosine: float, overlap: float) -> dict[str, float]:
    return {
        kind: abstain_rate(
            [r for r in records if r.kind == kind and r.half == half], cosine, overlap
        )
        for kind in SETS
    }


def choose(records: Sequence[Record]) -> tuple[float, float]:
    """The thresholds that refuse most unanswerable calibration queries (BioASQ and
    off-topic, averaged) while refusing at most 5% of the answerable ones."""
    best: tuple[float, float, float, float] | None = None
    for cosine in COSINES:
        for overlap in OVERLAPS:
            found = rates(records, "calib", cosine, overlap)
            if found["answerable"] > MAX_ANSWERABLE_ABSTAIN:
                continue
            gain = (found["bioasq"] + found["off_topic"]) / 2
            key = (gain, -found["answerable"], -cosine, -overlap)
            if best is None or key > best:
                best = key
    assert best is not None, "no threshold keeps answerable refusals under the limit"
    return -best[2], -best[3]


def abstain_command(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="medkb-safety-") as tmp:
        home = Path(tmp) / "home"
        if args.home:
            shutil.copytree(args.home, home)
        else:
            home = Path("/tmp/medkb-safety") / f"mediqa2019-{args.embedder}"
        settings = Settings(home=home, embedder=args.embedder, cache_dir=args.cache_dir)
        with build(settings) as kb:
            ensure_corpus(kb, DATA / "mediqa2019" / "corpus.jsonl")
        records = collect(settings)
    cosine, overlap = choose(records)
    section = abstain_section(args.embedder, records, cosine, overlap)
    print(section)
    if args.write:
        write_section(f"bench:safety:abstain:{args.embedder}", section)


def abstain_section(embedder: str, records: list[Record], cosine: float, overlap: float) -> str:
    counts = {kind: sum(r.kind == kind and r.half == "test" for r in records) for kind in SETS}
    lines = [
        f"<!-- bench:safety:abstain:{embedder} -->",
        f"### {embedder}",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit "
        f"{git_commit()}, on {machine_line()}:",
        f"`python bench/safety.py abstain --embedder {embedder} --home <MEDIQA home> --write`",
        "",
        f"Chosen on the calibration half: **min_cosine {cosine}, min_overlap {overlap}**.",
        "Abstain rate (share of queries answered 'not found'); columns after the first "
        f"are the test half (answerable {counts['answerable']}, BioASQ {counts['bioasq']}, "
        f"off-topic {counts['off_topic']}, removed {counts['removed']} queries).",
        "",
        "| min_cosine | min_overlap | answerable (calib) | answerable | BioASQ | off-topic "
        "| MEDIQA, judged docs removed |",
        "|---|---|---|---|---|---|---|",
    ]
    grid = sorted({(c, overlap) for c in (0.3, 0.4, 0.5, 0.6, 0.7, cosine)})
    grid += [(0.0, o) for o in (0.2, 0.34, 0.5)] + [(-1.0, 0.0)]
    for c, o in grid:
        calib = rates(records, "calib", c, o)["answerable"]
        test = rates(records, "test", c, o)
        mark = " **(chosen)**" if (c, o) == (cosine, overlap) else ""
        lines.append(
            f"| {c}{mark} | {o} | {calib:.3f} | {test['answerable']:.3f} | "
            f"{test['bioasq']:.3f} | {test['off_topic']:.3f} | {test['removed']:.3f} |"
        )
    return "\n".join([*lines, END])


def write_section(key: str, body: str) -> None:
    text = OUTPUT.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(f"<!-- {key} -->") + r".*?" + re.escape(END), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _match: body, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + body
    OUTPUT.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "redflags":
        redflags_command(args)
    elif args.command == "triage":
        stamp = (
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit "
            f"{git_commit()}, on {machine_line()}: `{{command}}`"
        )
        triage_report.triage_command(args, write_section, stamp)
    else:
        abstain_command(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
