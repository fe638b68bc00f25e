"""Triage measurements for ``docs/safety.md`` (run through ``python bench/safety.py triage``).

The development set ``tests/data/triage.jsonl`` is split by the SHA-256 of each text
(:func:`half_of`): the cues and the semantic thresholds were tuned on ``tune``; the tables
report ``report``. ``--unseen`` adds ``tests/data/triage_unseen.jsonl`` (relatives' text
messages, written before tuning and evaluated once, at the end) and the older
``tests/data/red_flags.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medkb.answer import learned, semantic, triage
from medkb.answer.redflag_cues import CATEGORIES
from medkb.config import AnswerSettings
from medkb.embed.base import Embedder
from medkb.search.text import normalise_query

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "triage.jsonl"
UNSEEN = ROOT / "tests" / "data" / "triage_unseen.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "triage_holdout.jsonl"
FRESH = ROOT / "tests" / "data" / "triage_fresh.jsonl"
FINAL = ROOT / "tests" / "data" / "triage_final.jsonl"
LAST = ROOT / "tests" / "data" / "triage_last.jsonl"
OLD = ROOT / "tests" / "data" / "red_flags.jsonl"
OFF_TOPIC = ROOT / "tests" / "data" / "off_topic.jsonl"
SHARED = ROOT.parent / "shared" / "data"
BLIND_A = ROOT / "tests" / "data" / "triage_blind_a.jsonl"
BLIND_B = ROOT / "tests" / "data" / "triage_blind_b.jsonl"
BLIND_C = ROOT / "tests" / "data" / "triage_blind_c.jsonl"
BLIND_D = ROOT / "tests" / "data" / "triage_blind_d.jsonl"
BLIND_E = ROOT / "tests" / "data" / "triage_blind_e.jsonl"
BLIND_F = ROOT / "tests" / "data" / "triage_blind_f.jsonl"
BLIND_G = ROOT / "tests" / "data" / "triage_blind_g.jsonl"
BLIND_H = ROOT / "tests" / "data" / "triage_blind_h.jsonl"
#: Sets written by someone who had not seen the triage code, each measured once first.
BLIND = (BLIND_A, BLIND_B, BLIND_C, BLIND_D, BLIND_E, BLIND_F, BLIND_G, BLIND_H)
#: Cosines tried when choosing the semantic thresholds.
GRID = [round(0.5 + 0.025 * i, 3) for i in range(17)]
#: Most look-alikes of the tuning half the semantic step may flag on its own.
MAX_SEMANTIC_ALARMS = 0.01
#: The older list's categories, in the triage's names.
OLD_NAMES = {
    "overdose": "poisoning",
    "unconscious": "consciousness",
    "pregnancy": "obstetric",
    "pediatric": "infant",
}


def half_of(text: str) -> str:
    """``tune`` or ``report``: the half a development text belongs to, fixed by its hash."""
    return "tune" if int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % 2 == 0 else "report"


@dataclass
class Row:
    """One labelled message and what triage made of it."""

    text: str
    emergency: bool
    category: str
    vector: Any = None
    found: triage.Triage | None = None


def load(path: Path) -> list[Row]:
    rows = []
    for line in path.read_text().splitlines():
        if line.strip():
            data = json.loads(line)
            text = data.get("text") or data["query"]
            category = OLD_NAMES.get(data["category"], data["category"])
            rows.append(Row(text, data["label"] == "emergency", category))
    return rows


def embed_rows(rows: Sequence[Row], encoder: Embedder | None) -> None:
    if encoder is None:
        return
    vectors = encoder.embed([normalise_query(row.text) for row in rows])
    for row, vector in zip(rows, vectors, strict=True):
        row.vector = vector


def run(
    rows: Sequence[Row],
    match: triage.SemanticMatch | None,
    *,
    numbers: bool = True,
    model: learned.Model | None = None,
) -> None:
    """Triage ``rows`` (``model``: the learned model; ``numbers=False``: cues and semantic)."""
    for row in rows:
        if numbers:
            row.found = triage.assess(row.text, match=match, vector=row.vector, model=model)
        else:
            found = triage.weigh(row.text, match=match, vector=row.vector)
            kept = triage.Assessment(framed=found.framed, resolved=found.resolved)
            for category, items in found.evidence.items():
                for item in items:
                    if item.kind != "number":
                        kept.add(category, item)
            row.found = kept.verdict()


def scores(rows: Sequence[Row]) -> dict[str, Any]:
    """Recall, false-alarm rate, category agreement and the errors of ``rows``."""
    emergencies = [r for r in rows if r.emergency]
    lookalikes = [r for r in rows if not r.emergency]
    caught = [r for r in emergencies if r.found is not None]
    alarms = [r for r in lookalikes if r.found is not None]
    agree = sum(r.found is not None and r.found.category == r.category for r in caught)
    return {
        "emergencies": len(emergencies),
        "lookalikes": len(lookalikes),
        "recall": len(caught) / len(emergencies) if emergencies else 0.0,
        "false_alarms": len(alarms) / len(lookalikes) if lookalikes else 0.0,
        "agree": agree / len(caught) if caught else 0.0,
        "missed": [r for r in emergencies if r.found is None],
        "alarms": alarms,
        "wrong_category": [r for r in caught if r.found and r.found.category != r.category],
    }


def per_category(rows: Sequence[Row]) -> list[tuple[str, int, int, int, int]]:
    """(category, emergencies, caught, look-alikes, false alarms) per category."""
    table = []
    for category in sorted({r.category for r in rows}, key=_order):
        mine = [r for r in rows if r.category == category]
        em = [r for r in mine if r.emergency]
        look = [r for r in mine if not r.emergency]
        table.append(
            (
                category,
                len(em),
                sum(r.found is not None for r in em),
                len(look),
                sum(r.found is not None for r in look),
            )
        )
    return table


def _order(category: str) -> int:
    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)


# --- choosing the semantic thresholds on the tuning half ------------------------------------


def choose(rows: Sequence[Row], encoder: Embedder) -> dict[str, float]:
    """The semantic thresholds, from the tuning half only.

    ``flag``: the lowest cosine at which the semantic step, on its own, flags at most 1% of
    the look-alikes; ``boost``: the lowest cosine at which completing half-scored categories
    adds no false alarm to cues and numbers. Margin 0: a message must be nearer to an
    emergency than to the category's calm texts.
    """
    index = semantic.prototype_index(encoder)
    weighed = [(row, triage.weigh(row.text), index.nearest(row.vector)) for row in rows]
    lookalikes = [item for item in weighed if not item[0].emergency]
    flag = next(
        cosine
        for cosine in GRID
        if sum(
            not found.framed and any(n.cosine >= cosine and n.margin >= 0 for n in near)
            for _, found, near in lookalikes
        )
        <= MAX_SEMANTIC_ALARMS * len(lookalikes)
    )
    boost = next(
        cosine
        for cosine in GRID
        if not any(_boosted(found, near, cosine) for _, found, near in lookalikes)
    )
    return {"flag": flag, "boost": boost, "margin": 0.0}


def _boosted(found: triage.Assessment, near: list[semantic.Nearest], cosine: float) -> bool:
    if found.framed or found.verdict() is not None:
        return False
    return any(0.5 <= found.scores.get(n.category, 0.0) < 1.0 and n.cosine >= cosine for n in near)


# --- latency ----------------------------------------------------------------------------


def latency(
    rows: Sequence[Row],
    match: triage.SemanticMatch | None,
    *,
    reuse: bool,
    repeat: int = 3,
    model: learned.Model | None = None,
) -> dict[str, float]:
    """Milliseconds per message of :func:`triage.assess` (``reuse``: the query's vector is
    given, as in the query path; otherwise triage embeds the message itself)."""
    times, cpu = [], []
    for _ in range(repeat):
        for row in rows:
            vector = row.vector if reuse else None
            start, start_cpu = time.perf_counter(), time.process_time()
            triage.assess(row.text, match=match, vector=vector, model=model)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
    ordered = np.sort(np.array(times))
    return {
        "mean": statistics.fmean(times),
        "p50": float(np.percentile(ordered, 50)),
        "p95": float(np.percentile(ordered, 95)),
        "max": float(ordered[-1]),
        "cpu_mean": statistics.fmean(cpu),
        "cpu_p95": float(np.percentile(np.array(cpu), 95)),
    }


def settings_match(embedder: str, encoder: Embedder | None) -> triage.SemanticMatch | None:
    limits = AnswerSettings().triage_semantic.get(embedder)
    if encoder is None or not limits:
        return None
    return triage.SemanticMatch(encoder, limits["flag"], limits["boost"], limits["margin"])
