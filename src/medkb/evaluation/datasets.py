"""Readers for BEIR-style evaluation files: ``queries.jsonl`` and ``qrels.tsv``.

``queries.jsonl`` holds one object per line with ``id`` (or ``_id``) and ``query`` (or
``text``); other keys are ignored. ``qrels.tsv`` holds ``query-id<TAB>corpus-id<TAB>score``
lines after a header line; scores are integer grades.
"""

from __future__ import annotations

import json
from pathlib import Path

from medkb.errors import InputError
from medkb.evaluation.metrics import Qrels


def load_queries(path: Path) -> dict[str, str]:
    """Query text by query id, in file order."""
    queries: dict[str, str] = {}
    for number, line in enumerate(_read(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path} line {number} is not valid JSON ({exc}). Each line must be an object "
                'like {"id": "q1", "query": "What is asthma?"}.'
            ) from exc
        query_id, text = _field(row, ("id", "_id")), _field(row, ("query", "text"))
        if not query_id or not text:
            raise InputError(
                f"{path} line {number} needs an 'id' and a 'query'; got keys "
                f"{sorted(row) if isinstance(row, dict) else type(row).__name__}."
            )
        queries[query_id] = text
    return queries


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Grades by query id and corpus id; the header line is skipped."""
    qrels: dict[str, dict[str, int]] = {}
    lines = _read(path).splitlines()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            query_id, corpus_id, score = parts[0], parts[1], int(float(parts[2]))
        except (IndexError, ValueError) as exc:
            raise InputError(
                f"{path} line {number} is not 'query-id<TAB>corpus-id<TAB>score': {line!r}."
            ) from exc
        qrels.setdefault(query_id, {})[corpus_id] = score
    return qrels


def judged_queries(queries: dict[str, str], qrels: Qrels, min_relevance: int) -> dict[str, str]:
    """The queries that have at least one document graded ``min_relevance`` or more."""
    return {
        query_id: text
        for query_id, text in queries.items()
        if any(grade >= min_relevance for grade in qrels.get(query_id, {}).values())
    }


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot read {path} ({exc.strerror}); check the path.") from exc


def _field(row: object, keys: tuple[str, ...]) -> str:
    if not isinstance(row, dict):
        return ""
    for key in keys:
        value = row.get(key)
        if value is not None and str(value).strip():
            return str(value)
    return ""
