"""The knowledge base core against real stores: SQLite or PostgreSQL + the local index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.errors import EmbedderMismatch, FieldTooLong, InputError, NotFound
from medkb.models import MAX_TEXT_CHARS, QAMetadata, QAPair, Source
from medkb.stores.relational.schema import document_sources, outbox, qa, relations, sync_status
from medkb.stores.vector.fit import copy_limits
from medkb.sync.apply import current_records, record_checksum


def pair(qa_id: str, question: str, response: str, **meta: object) -> QAPair:
    return QAPair(
        id=qa_id,
        question=question,
        response=response,
        metadata=QAMetadata(**meta),  # type: ignore[arg-type]
        sources=[Source(document="notes.md", section=question, excerpt=response[:40])],
    )


CARDIO = [
    pair(
        "htn-symptoms",
        "What are the symptoms of hypertension?",
        "High blood pressure usually causes no symptoms. Very high readings can cause "
        "headaches, shortness of breath or nosebleeds.",
        category="Cardiology",
        source="demo",
    ),
    pair(
        "htn-treatment",
        "How is high blood pressure treated?",
        "Hypertension is treated with lifestyle changes such as less salt and more exercise, "
        "and medicines such as ACE inhibitors or diuretics.",
        category="Cardiology",
        source="demo",
    ),
    pair(
        "htn-causes",
        "What causes high blood pressure?",
        "Causes of hypertension include age, genetics, obesity, salt intake and kidney disease.",
        category="Cardiology",
        source="demo",
    ),
]
OTHER = [
    pair(
        "flu-vaccine",
        "Who should get a flu vaccine?",
        "Everyone aged six months and older should get a flu vaccine every year.",
        category="Infectious disease",
        source="demo",
    ),
    pair(
        "asthma-triggers",
        "What triggers an asthma attack?",
        "Asthma attacks can be triggered by allergens, smoke, cold air and exercise.",
        category="Respiratory",
        source="demo",
    ),
]


def store_matches_relational(kb: KnowledgeBase) -> None:
    """Every pair is in both stores with the same content, and nothing else is."""
    with kb.engine.connect() as conn:
        ids = [row.id for row in conn.execute(sa.select(qa.c.id))]
        records = current_records(conn, ids, limits=copy_limits(kb.store))
        expected = {r.id: record_checksum(r) for r in records}
    stored = {r.id: record_checksum(r) for r in kb.store.fetch(list(kb.store.ids()))}
    assert stored == expected


def test_add_writes_both_stores_with_sources_and_sync_status(kb: KnowledgeBase) -> None:
    result = kb.add(CARDIO + OTHER)
    assert sorted(result.created) == sorted(p.id for p in CARDIO + OTHER)
    store_matches_relational(kb)
    got = kb.get("htn-symptoms")
    assert got["metadata"]["category"] == "Cardiology"
    assert got["sources"][0]["document"] == "notes.md"
    assert got["sync"]["state"] == "synced"
    stats = kb.stats()
    assert stats["relational_pairs"] == stats["vector_pairs"] == 5
    assert stats["sync"]["outbox_pending"] == 0


def test_re_adding_the_same_content_changes_nothing(kb: KnowledgeBase) -> None:
    kb.add(CARDIO)
    again = kb.add(CARDIO)
    assert sorted(again.unchanged) == sorted(p.id for p in CARDIO)
    assert again.created == again.updated == []
    assert kb.stats()["relational_pairs"] == 3


def test_similar_pairs_are_linked_both_ways(kb: KnowledgeBase) -> None:
    kb.settings.graph.similar_threshold = 0.3
    kb.add(CARDIO + OTHER)
    got = kb.get("htn-treatment")
    targets = {rel["target_id"] for rel in got["relations"] if rel["type"] == "similar_to"}
    assert targets & {"htn-symptoms", "htn-causes"}
    record = kb.store.fetch(["htn-treatment"])[0]
    assert set(record.related_nodes) == {rel["target_id"] for rel in got["relations"]}


def test_update_re_embeds_and_keeps_stores_in_sync(kb: KnowledgeBase) -> None:
    kb.add(CARDIO)
    before = kb.store.fetch(["htn-causes"])[0].embeddings.question.copy()
    result = kb.update(
        "htn-causes",
        question="Why does blood pressure rise?",
        metadata={"subcategory": "Hypertension", "tags": "bp,causes"},
    )
    assert result.updated == ["htn-causes"]
    after = kb.store.fetch(["htn-causes"])[0]
    assert after.question == "Why does blood pressure rise?"
    assert not np.allclose(before, after.embeddings.question)
    got = kb.get("htn-causes")
    assert got["metadata"]["subcategory"] == "Hypertension"
    assert got["metadata"]["tags"] == ["bp", "causes"]
    store_matches_relational(kb)


def test_delete_leaves_nothing_pointing_at_the_pair(kb: KnowledgeBase) -> None:
    kb.settings.graph.similar_threshold = 0.0
    kb.add(CARDIO + OTHER)
    assert "htn-symptoms" in {rel["target_id"] for rel in kb.get("htn-treatment")["relations"]}
    kb.delete("htn-symptoms")
    with kb.engine.connect() as conn:
        dangling = conn.execute(
            sa.select(relations).where(
                sa.or_(
                    relations.c.source_id == "htn-symptoms", relations.c.target_id == "htn-symptoms"
                )
            )
        ).all()
        sources = conn.execute(
            sa.select(document_sources).where(document_sources.c.qa_id == "htn-symptoms")
        ).all()
    assert dangling == [] and sources == []
    for record in kb.store.fetch(list(kb.store.ids())):
        assert "htn-symptoms" not in record.related_nodes
    assert "htn-symptoms" not in set(kb.store.ids())
    store_matches_relational(kb)
    with pytest.raises(NotFound):
        kb.get("htn-symptoms")


def test_unknown_ids_are_clear_errors(kb: KnowledgeBase) -> None:
    for call in (lambda: kb.get("nope"), lambda: kb.delete("nope"), lambda: kb.update("nope")):
        with pytest.raises(NotFound, match="nope"):
            call()
    with pytest.raises(NotFound):
        kb.feedback(12345, rating=3)


def test_query_answers_with_citations_logs_and_takes_feedback(kb: KnowledgeBase) -> None:
    kb.add(CARDIO + OTHER)
    result = kb.query("What are the symptoms of high blood pressure?", depth=2)
    assert result.hits[0].pair.id in {"htn-symptoms", "htn-treatment", "htn-causes"}
    cited = {c["id"] for c in result.citations}
    assert cited and cited <= {hit.pair.id for hit in result.hits}
    assert "[1]" in result.answer
    assert {"embed", "dense_search", "keyword_search", "fuse", "total"} <= set(result.timings_ms)
    assert result.query_log_id is not None
    kb.feedback(result.query_log_id, rating=5, comment="clear")
    stats = kb.stats()
    assert stats["queries"] == 1 and stats["avg_rating"] == 5.0


def test_filters_apply_to_every_retriever_and_the_graph(kb: KnowledgeBase) -> None:
    kb.settings.graph.similar_threshold = 0.0
    kb.add(CARDIO + OTHER)
    result = kb.query("blood pressure", filters={"category": ["Respiratory"]}, depth=2)
    assert [hit.pair.id for hit in result.hits] == ["asthma-triggers"]
    with pytest.raises(InputError, match="filterable keys"):
        kb.query("x", filters={"colour": ["red"]})


def test_oversize_and_empty_fields_are_refused_before_anything_is_written(
    kb: KnowledgeBase,
) -> None:
    with pytest.raises(FieldTooLong, match="200,000"):
        kb.add([CARDIO[0], pair("big", "Big?", "x" * (MAX_TEXT_CHARS + 1))])
    with pytest.raises(InputError):
        kb.add([pair("empty", "Empty?", "   ")])
    assert kb.stats()["relational_pairs"] == 0


def test_a_failing_embedder_writes_nothing(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(texts: object) -> None:
        raise RuntimeError("embedding model crashed")

    monkeypatch.setattr(kb.writer.embedder, "embed", broken)
    with pytest.raises(RuntimeError):
        kb.add(CARDIO)
    with kb.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(qa)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one() == 0


def test_opening_with_another_embedder_is_a_clear_error(settings: Settings) -> None:
    with build(settings) as kb:
        kb.add(CARDIO[:1])
    with pytest.raises(EmbedderMismatch, match="re-ingest"):
        build(settings.model_copy(update={"embedder": "minilm"}))


def test_sync_state_is_recorded_per_pair(kb: KnowledgeBase) -> None:
    kb.add(CARDIO)
    with kb.engine.connect() as conn:
        rows = conn.execute(sa.select(sync_status.c.qa_id, sync_status.c.state)).all()
    assert {row.qa_id for row in rows} == {p.id for p in CARDIO}
    assert {row.state for row in rows} == {"synced"}


def test_the_python_api_opens_a_home_directory(tmp_path: Path, embed_cache: Path) -> None:
    import medkb

    with medkb.open(tmp_path / "kb", embedder="static", cache_dir=embed_cache) as kb:
        kb.add(CARDIO)
    with medkb.open(tmp_path / "kb", embedder="static", cache_dir=embed_cache) as kb:
        result = kb.query("how is high blood pressure treated", log=False)
        assert result.hits[0].pair.id == "htn-treatment"
        assert result.query_log_id is None
    assert (tmp_path / "kb" / "medkb.db").exists()


def test_only_the_touched_neighbourhood_is_relinked(kb: KnowledgeBase) -> None:
    kb.settings.graph.similar_threshold = 0.0
    kb.add(CARDIO + OTHER)
    with kb.engine.connect() as conn:
        before = {
            tuple(row)
            for row in conn.execute(
                sa.select(relations.c.id, relations.c.source_id, relations.c.target_id)
            )
        }
    kb.update("flu-vaccine", response="A yearly flu shot is advised for everyone over six months.")
    with kb.engine.connect() as conn:
        after = {
            tuple(row)
            for row in conn.execute(
                sa.select(relations.c.id, relations.c.source_id, relations.c.target_id)
            )
        }
    untouched_before = {row for row in before if "flu-vaccine" not in row[1:]}
    untouched_after = {row for row in after if "flu-vaccine" not in row[1:]}
    assert untouched_before == untouched_after  # same rows, same primary keys: not rewritten
    assert {row for row in after if "flu-vaccine" in row[1:]} - before  # its own links are new
