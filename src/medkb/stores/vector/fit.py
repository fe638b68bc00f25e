"""A vector backend's copy of a record, cut to the limits that backend imposes.

The relational store is the system of record and keeps every text whole. A backend whose
fields are bounded — Milvus: ``question`` and ``response`` are VARCHAR fields sized for the
SPEC's 5,000 / 10,000 characters, JSON fields hold at most 65,536 bytes — stores a copy cut
to fit, and the copy says so:

- ``metadata["question_chars"]`` / ``metadata["response_chars"]``: the full text's length,
  present only when that text was cut;
- ``metadata["related_nodes_total"]``: how many related nodes the pair has, present only
  when the list was cut (the strongest links come first and are kept).

A backend declares its limits as a ``copy_limits`` attribute (:class:`CopyLimits`); the
``local`` and ``pgvector`` backends have none and keep everything. Both the backend (on
upsert) and the sync code (building what the relational store implies for that backend)
call :func:`fit_record`, so ``sync verify`` compares like with like. Fitting is
idempotent: a fitted record fits unchanged.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from medkb.models import VectorRecord


@dataclass(frozen=True)
class CopyLimits:
    """What a vector backend can hold per record; ``None``: no limit."""

    question_chars: int | None = None
    response_chars: int | None = None
    #: Size of the ``related_nodes`` JSON array, in bytes.
    related_bytes: int | None = None


NO_LIMITS = CopyLimits()


def copy_limits(store: object) -> CopyLimits:
    """The limits a vector store declares (``copy_limits``), or none."""
    limits = getattr(store, "copy_limits", NO_LIMITS)
    return limits if isinstance(limits, CopyLimits) else NO_LIMITS


def fit_record(record: VectorRecord, limits: CopyLimits) -> VectorRecord:
    """``record`` as a backend with ``limits`` stores it (see the module docstring)."""
    if limits == NO_LIMITS:
        return record
    metadata = dict(record.metadata)
    question = _fit_text(record.question, limits.question_chars, "question_chars", metadata)
    response = _fit_text(record.response, limits.response_chars, "response_chars", metadata)
    related = fit_related(record.related_nodes, limits.related_bytes)
    if len(related) < len(record.related_nodes):
        metadata["related_nodes_total"] = str(len(record.related_nodes))
    if (question, response, related, metadata) == (
        record.question,
        record.response,
        record.related_nodes,
        record.metadata,
    ):
        return record
    return dataclasses.replace(
        record, question=question, response=response, related_nodes=related, metadata=metadata
    )


def fit_related(nodes: list[str], limit: int | None) -> list[str]:
    """The longest head of ``nodes`` whose JSON array takes at most ``limit`` bytes.

    Measured with ``\\u`` escapes (``ensure_ascii``), which is never shorter than the UTF-8
    a driver sends, so the kept list fits whatever the driver's JSON encoder.
    """
    if limit is None or len(json.dumps(nodes)) <= limit:
        return nodes
    size, kept = 2, list[str]()  # the brackets
    for node in nodes:
        size += len(json.dumps(node)) + (2 if kept else 0)  # ", " between items
        if size > limit:
            break
        kept.append(node)
    return kept


def _fit_text(text: str, limit: int | None, key: str, metadata: dict[str, str]) -> str:
    if limit is None or len(text) <= limit:
        return text
    metadata[key] = str(len(text))
    return text[:limit]
