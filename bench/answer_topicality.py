"""Topicality of extractive answers: do the quoted sentences come from pairs judged relevant?

Runs the MEDIQA 2019 dev queries (``train2_alexa`` and ``validation``; ``--split test`` for
the held-out ones) through the real query path of a knowledge base of the MEDIQA corpus and
looks up each quoted sentence's pair in the graded qrels (3 excellent, 2 incomplete, 1
related, 0 incorrect; MEDIQA counts 2 and up as an answer):

- **relevant share**: quoted sentences from a pair graded >= 2, of all quoted sentences;
- **off-topic share**: quoted sentences from a pair graded 0 or 1;
- **answers quoting an off-topic pair**: answers with at least one sentence graded 0 or 1.

Unjudged pairs are reported apart. Abstained answers quote nothing and are counted only.

``--tune`` also recomposes every answer from the same hits for several values of the
same-question threshold (:data:`medkb.answer.extractive.SAME_QUESTION`; 0 quotes any of the
best pairs), which is how the default was chosen. Run it with ``PYTHONPATH`` pointing at
another checkout to measure that code ("before") on the same knowledge base.

    python bench/answer_topicality.py --tune
    PYTHONPATH=/tmp/old/src python bench/answer_topicality.py --label before
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medkb.app import build
from medkb.config import Settings
from medkb.evaluation.corpus import ensure_corpus

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mediqa2019"
#: Same-question thresholds tried; above 1 no other pair qualifies (the best pair only).
THRESHOLDS = (0.0, 0.5, 0.67, 0.75, 1.0, 1.01)


@dataclass
class Tally:
    """Quoted sentences by the grade of their pair, over a set of answers."""

    answers: int = 0
    abstained: int = 0
    relevant: int = 0
    off_topic: int = 0
    unjudged: int = 0
    answers_off_topic: int = 0
    sentences_per_answer: list[int] = field(default_factory=list)

    def add(self, citations: Sequence[tuple[str, int]], grades: dict[str, int]) -> None:
        """One answer: (pair id, sentences quoted from it) per citation."""
        if not citations:
            self.abstained += 1
            return
        self.answers += 1
        off = False
        for qa_id, count in citations:
            grade = grades.get(qa_id)
            if grade is None:
                self.unjudged += count
            elif grade >= 2:
                self.relevant += count
            else:
                self.off_topic += count
                off = True
        self.answers_off_topic += off
        self.sentences_per_answer.append(sum(count for _, count in citations))

    def row(self) -> dict[str, Any]:
        quoted = self.relevant + self.off_topic + self.unjudged
        return {
            "answers": self.answers,
            "abstained": self.abstained,
            "sentences": quoted,
            "relevant_share": round(self.relevant / quoted, 3) if quoted else None,
            "off_topic_share": round(self.off_topic / quoted, 3) if quoted else None,
            "unjudged_share": round(self.unjudged / quoted, 3) if quoted else None,
            "answers_quoting_off_topic": round(self.answers_off_topic / self.answers, 3)
            if self.answers
            else None,
            "sentences_per_answer": round(quoted / self.answers, 2) if self.answers else None,
        }


def load(data: Path, split: str) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Queries of ``split`` (dev: train2_alexa + validation; test) and their graded qrels."""
    queries, qrels = {}, {}
    for line in (data / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        in_split = (row["split"] == "test") == (split == "test")
        if in_split and row.get("qrels"):
            queries[row["id"]] = row["query"]
            qrels[row["id"]] = {k: int(v) for k, v in row["qrels"].items()}
    return queries, qrels


def measure(args: argparse.Namespace) -> dict[str, Any]:
    queries, qrels = load(args.data, args.split)
    settings = Settings(home=args.home, embedder=args.embedder, cache_dir=args.cache_dir)
    tallies: dict[str, Tally] = {"answer (as shipped)": Tally()}
    if args.tune:
        tallies.update({f"same_question={t:g}": Tally() for t in THRESHOLDS})
    started = time.perf_counter()
    with build(settings) as kb:
        ensure_corpus(kb, args.data / "corpus.jsonl")
        for qid, text in queries.items():
            result = kb.query(text, log=False)
            shipped = [(c["id"], len(c["sentences"])) for c in result.citations]
            tallies["answer (as shipped)"].add(shipped, qrels[qid])
            if args.tune:
                retune(tallies, text, result, qrels[qid], kb.settings.answer)
    return {
        "split": args.split,
        "queries": len(queries),
        "embedder": args.embedder,
        "seconds": round(time.perf_counter() - started, 1),
        "rows": {name: tally.row() for name, tally in tallies.items()},
    }


def retune(
    tallies: dict[str, Tally], text: str, result: Any, grades: dict[str, int], answer: Any
) -> None:
    """Recompose the answer from the same hits at each threshold (abstentions stay)."""
    from medkb.answer.extractive import Evidence, compose
    from medkb.search.text import normalise_query

    evidence = [Evidence(h.pair.id, h.pair.question, h.pair.response, h.score) for h in result.hits]
    for threshold in THRESHOLDS:
        if result.info.abstained:
            tallies[f"same_question={threshold:g}"].add([], grades)
            continue
        composed = compose(
            normalise_query(text),
            evidence,
            max_sentences=answer.max_sentences,
            max_sources=answer.max_sources,
            same_question=threshold,
        )
        cited = [(c.id, len(c.sentences)) for c in composed.citations]
        tallies[f"same_question={threshold:g}"].add(cited, grades)


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--embedder", default="static")
    parser.add_argument("--home", type=Path, default=Path("/tmp/medkb-topicality-static"))
    parser.add_argument("--cache-dir", type=Path, default=Path("~/.cache/medkb").expanduser())
    parser.add_argument("--tune", action="store_true")
    parser.add_argument("--label", default="after")
    args = parser.parse_args(argv)
    report = {"label": args.label, **measure(args)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
