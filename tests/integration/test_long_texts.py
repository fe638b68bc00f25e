"""Long answers go in whole; what a store cannot hold is refused at the door (issue 8).

Item 5: the relational store keeps the full text of a 20,000-character answer; the local
and pgvector stores keep it too, Milvus keeps a copy cut to its VARCHAR size that says so,
and ``sync verify`` stays clean on each. Item 2: a pair with a field over a store's limit
(id, category, language) is refused before anything is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase
from medkb.errors import FieldTooLong
from medkb.models import MAX_QUESTION_CHARS, MAX_RESPONSE_CHARS, MAX_TEXT_CHARS
from medkb.stores.relational.schema import outbox, qa
from medkb.stores.vector.milvus import MilvusVectorStore
from medkb.sync.repair import repair
from medkb.sync.verify import verify
from tests.integration.test_kb import CARDIO, pair, store_matches_relational
from tests.integration.test_kb_backends import backend_kb, pgvector_database
from tests.integration.test_sync_verify import assert_sync_status_matches_store

__all__ = ["backend_kb", "pgvector_database"]

pytestmark = pytest.mark.usefixtures("embed_cache")

LONG_ANSWER = ("Noonan syndrome can affect the heart, growth and development. " * 400)[:20_000]
LONG_QUESTION = ("Which findings in a child suggest Noonan syndrome? " * 150)[:6_000]


def write_corpus(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def long_corpus(tmp_path: Path) -> Path:
    return write_corpus(
        tmp_path / "mediqa.jsonl",
        [
            {"id": "long-1", "question": LONG_QUESTION, "answer": LONG_ANSWER},
            {"id": "short-1", "question": "What is Noonan syndrome?", "answer": "A disorder."},
        ],
    )


def pair_count(kb: KnowledgeBase) -> tuple[int, int]:
    """(pairs, outbox rows) in the relational store."""
    with kb.engine.connect() as conn:
        pairs = conn.execute(sa.select(sa.func.count()).select_from(qa)).scalar_one()
        rows = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
    return pairs, rows


def test_long_answers_refuse_whole_files_no_more(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A 20,000-char answer is ingested by default and stored whole; verify is clean."""
    report = kb.ingest([long_corpus(tmp_path)])
    assert report.errors == [] and sorted(report.result.created) == ["long-1", "short-1"]
    stored = kb.get("long-1")
    assert (stored["question"], stored["response"]) == (LONG_QUESTION, LONG_ANSWER)
    [record] = kb.store.fetch(["long-1"])
    assert record.response == LONG_ANSWER and "response_chars" not in record.metadata
    assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean
    store_matches_relational(kb)


def test_overlong_error_is_the_strict_mode(kb: KnowledgeBase, tmp_path: Path) -> None:
    report = kb.ingest([long_corpus(tmp_path)], overlong="error")
    assert [error.kind for error in report.errors] == ["FieldTooLong"]
    assert pair_count(kb)[0] == 0


def test_long_answers_on_milvus_lite_and_pgvector_verify_clean(
    backend_kb: KnowledgeBase, tmp_path: Path
) -> None:
    """Milvus keeps a cut copy that records the full length; pgvector keeps it whole."""
    kb = backend_kb
    assert kb.ingest([long_corpus(tmp_path)]).errors == []
    assert kb.get("long-1")["response"] == LONG_ANSWER
    [record] = kb.store.fetch(["long-1"])
    if isinstance(kb.store, MilvusVectorStore):
        assert (len(record.question), len(record.response)) == (
            MAX_QUESTION_CHARS,
            MAX_RESPONSE_CHARS,
        )
        assert LONG_ANSWER.startswith(record.response)
        assert (record.metadata["question_chars"], record.metadata["response_chars"]) == (
            "6000",
            "20000",
        )
    else:
        assert record.response == LONG_ANSWER and "response_chars" not in record.metadata
    assert verify(kb.engine, kb.store, tenant_id=kb.tenant_id).clean
    assert_sync_status_matches_store(kb)
    report = repair(kb.engine, kb.store, tenant_id=kb.tenant_id, rebuild_all=True)
    assert report.after.clean and report.upserted == 2
    store_matches_relational(kb)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (pair("x" * 129, "Q?", "A."), r"the id has 129 characters; the limit is 128"),
        (
            pair("long-category", "Q?", "A.", category="é" * 513),
            r"'long-category': the category has 1,026 bytes in UTF-8; the limit is 1,024",
        ),
        (pair("bad-language", "Q?", "A.", language="english" * 3), r"the language has 21"),
        (pair("huge", "Q?", "x" * (MAX_TEXT_CHARS + 1)), r"the response has 200,001"),
    ],
)
def test_a_row_that_cannot_be_stored_is_refused_at_the_door(
    kb: KnowledgeBase, bad: object, message: str
) -> None:
    """Nothing of the batch is written: no pair, no outbox row (eventual sync keeps rows)."""
    kb.writer.realtime = False
    kb.add(CARDIO[:1])
    before = pair_count(kb)
    with pytest.raises(FieldTooLong, match=message):
        kb.add([CARDIO[1], bad])  # type: ignore[list-item]
    assert pair_count(kb) == before


def test_a_file_with_one_unstorable_row_writes_none_of_its_rows(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    kb.ingestor.batch_size = 1  # the bad row is in the third batch
    rows = [{"id": f"ok-{n}", "question": f"Question {n}?", "answer": "An answer."} for n in (1, 2)]
    rows.append({"id": "bad", "question": "Q?", "answer": "A.", "category": "c" * 1_025})
    report = kb.ingest([write_corpus(tmp_path / "rows.jsonl", rows)])
    assert [error.kind for error in report.errors] == ["FieldTooLong"]
    assert "'bad'" in report.errors[0].error and "1,025 bytes" in report.errors[0].error
    assert pair_count(kb) == (0, 0)
