"""A vector backend's cut copy of a record (stores.vector.fit): what is cut and recorded."""

from __future__ import annotations

import json

import numpy as np

from medkb.models import Embeddings, VectorRecord
from medkb.stores.vector.fit import NO_LIMITS, CopyLimits, copy_limits, fit_record, fit_related
from medkb.sync.apply import record_checksum

LIMITS = CopyLimits(question_chars=10, response_chars=20, related_bytes=30)


def record(
    question: str = "Q?", response: str = "A.", related: list[str] | None = None
) -> VectorRecord:
    vector = np.ones(4, dtype=np.float32) / 2
    return VectorRecord(
        id="qa-1",
        tenant_id="default",
        question=question,
        response=response,
        embeddings=Embeddings(vector, vector, vector, "static"),
        metadata={"category": "Cardiology"},
        related_nodes=related or [],
    )


def test_a_record_within_the_limits_is_kept_as_it_is() -> None:
    original = record(related=["qa-2"])
    assert fit_record(original, LIMITS) is original
    assert fit_record(record("x" * 500), NO_LIMITS).question == "x" * 500


def test_long_texts_are_cut_and_their_full_length_recorded() -> None:
    fitted = fit_record(record("q" * 11, "r" * 25), LIMITS)
    assert (fitted.question, fitted.response) == ("q" * 10, "r" * 20)
    assert fitted.metadata == {
        "category": "Cardiology",
        "question_chars": "11",
        "response_chars": "25",
    }


def test_fitting_is_idempotent_so_both_sides_of_verify_agree() -> None:
    once = fit_record(record("q" * 11, "r" * 25, [f"qa-{n}" for n in range(9)]), LIMITS)
    twice = fit_record(once, LIMITS)
    assert twice == once and record_checksum(twice) == record_checksum(once)


def test_related_nodes_keep_the_strongest_that_fit_and_the_total() -> None:
    nodes = [f"qa-{n:03d}" for n in range(10)]
    kept = fit_related(nodes, 30)
    assert kept == nodes[:3] and len(json.dumps(kept)) <= 30 < len(json.dumps(nodes[:4]))
    fitted = fit_record(record(related=nodes), LIMITS)
    assert fitted.related_nodes == kept and fitted.metadata["related_nodes_total"] == "10"


def test_stores_without_declared_limits_keep_everything() -> None:
    assert copy_limits(object()) == NO_LIMITS
