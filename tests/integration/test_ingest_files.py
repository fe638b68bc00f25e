"""Ingesting real files: the bundled demo documents and the MedQuAD XML data set."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase
from medkb.demo import demo_files
from medkb.stores.relational.schema import document_sources, relations
from tests.conftest import TEST_DATA
from tests.integration.test_kb import store_matches_relational

pytestmark = pytest.mark.usefixtures("embed_cache")


def test_demo_documents_ingest_with_pages_sections_and_raw_objects(kb: KnowledgeBase) -> None:
    report = kb.ingest(demo_files())
    assert report.errors == [] and len(report.result.created) == report.pairs > 50
    with kb.engine.connect() as conn:
        pdf_rows = conn.execute(
            sa.select(document_sources).where(document_sources.c.document == "heart-health.pdf")
        ).all()
    assert pdf_rows and all(row.page_number for row in pdf_rows)
    assert all(row.section for row in pdf_rows)
    objects = kb.ingestor.objects
    assert {key.rsplit("/", 1)[1] for key in objects.keys("raw/")} == {p.name for p in demo_files()}
    store_matches_relational(kb)


def test_re_ingesting_the_same_files_creates_no_duplicates(kb: KnowledgeBase) -> None:
    first = kb.ingest(demo_files())
    again = kb.ingest(demo_files())
    assert again.result.created == again.result.updated == []
    assert len(again.result.unchanged) == len(first.result.created)
    assert kb.stats()["relational_pairs"] == len(first.result.created)


def test_an_edited_document_updates_its_pairs_in_place(kb: KnowledgeBase, tmp_path: Path) -> None:
    doc = tmp_path / "flu.md"
    doc.write_text("# Flu\n\n## Symptoms\n\nFever and cough.\n\n## Treatment\n\nRest and fluids.\n")
    kb.ingest([doc])
    doc.write_text(
        "# Flu\n\n## Symptoms\n\nFever, cough and aches.\n\n## Treatment\n\nRest and fluids.\n"
    )
    again = kb.ingest([doc])
    assert len(again.result.updated) == 1 and len(again.result.unchanged) == 1
    assert kb.stats()["relational_pairs"] == 2
    doc.write_text("# Flu\n\n## Symptoms\n\nFever, cough and aches.\n")
    third = kb.ingest([doc])
    assert len(third.result.deleted) == 1 and third.to_dict()["removed"] == 1
    assert kb.stats()["relational_pairs"] == 1
    store_matches_relational(kb)


def test_a_bad_file_is_reported_and_the_others_still_go_in(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"this is not a zip file")
    good = tmp_path / "good.txt"
    good.write_text("Hydration\n\nDrink water regularly through the day, more when it is hot.\n")
    report = kb.ingest([bad, good])
    assert [error.path for error in report.errors] == [str(bad)]
    assert "bad.docx" in report.errors[0].error
    assert kb.stats()["relational_pairs"] == len(report.result.created) >= 1


def test_medquad_metadata_becomes_typed_relations(kb: KnowledgeBase) -> None:
    files = sorted((TEST_DATA / "medquad-xml" / "5_NIDDK_QA").glob("*.xml"))[:6]
    report = kb.ingest(files, overlong="truncate")
    assert report.pairs > 20
    with kb.engine.connect() as conn:
        kinds = {row[0] for row in conn.execute(sa.select(relations.c.relation_type).distinct())}
    assert {"treatment_for", "symptom_of", "related_to"} <= kinds
    pair = kb.get(report.result.created[0])
    assert {"focus", "qtype", "cuis"} <= set(pair["metadata"]["extra"])
    store_matches_relational(kb)
