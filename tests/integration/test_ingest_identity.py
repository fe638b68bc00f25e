"""Document identity: a document is its path in the folder ingested, never its bare name.

Issue 8 item 1 and issue 9 (the stock MedQuAD folder), on SQLite and PostgreSQL with real
nested folders. ``tests/data/medquad-sample`` is a copy of a few files of the stock
MedQuAD folder (CC BY 4.0, see its LICENSE.txt): two NIDDK and two CDC documents, one
NIDDK document with an empty ``<QAPairs>``, and the folder's readme.txt and LICENSE.txt.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase
from medkb.stores.relational.schema import document_sources, qa
from tests.integration.test_kb import store_matches_relational

pytestmark = pytest.mark.usefixtures("embed_cache")

MEDQUAD_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "medquad-sample"

CARDIO_FAQ = """# Heart FAQ

## What should I eat?

Less salt, more vegetables and whole grains keep the heart healthy.

## How much exercise do I need?

Thirty minutes of brisk walking on most days lowers blood pressure.
"""

ONCO_FAQ = """# Cancer FAQ

## What should I eat?

During chemotherapy, small frequent meals rich in protein help keep weight on.

## Is fatigue normal?

Fatigue is the most common side effect of cancer treatment and usually improves after it.

## Can I work during treatment?

Many people keep working with adjusted hours; talk to your care team.
"""


def make_docs(root: Path) -> Path:
    """``root/docs`` with ``cardio/faq.md`` (2 pairs) and ``onco/faq.md`` (3 pairs)."""
    docs = root / "docs"
    for folder, text in (("cardio", CARDIO_FAQ), ("onco", ONCO_FAQ)):
        (docs / folder).mkdir(parents=True)
        (docs / folder / "faq.md").write_text(text, encoding="utf-8")
    return docs


def documents_of(kb: KnowledgeBase) -> dict[str, set[str]]:
    """``{document id: {question, ...}}`` of every stored pair."""
    query = sa.select(document_sources.c.document, qa.c.question).join(
        qa, qa.c.id == document_sources.c.qa_id
    )
    found: dict[str, set[str]] = {}
    with kb.engine.connect() as conn:
        for row in conn.execute(query):
            found.setdefault(row.document, set()).add(row.question)
    return found


def test_documents_are_identified_by_their_base_name_no_more(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """Two faq.md in one folder: nothing removed, equal questions kept apart."""
    docs = make_docs(tmp_path)
    report = kb.ingest([docs])
    assert report.errors == [] and report.to_dict()["removed"] == 0
    assert len(report.result.created) == 5 and kb.stats()["relational_pairs"] == 5
    found = documents_of(kb)
    assert set(found) == {"docs/cardio/faq.md", "docs/onco/faq.md"}
    assert "What should I eat?" in found["docs/cardio/faq.md"] & found["docs/onco/faq.md"]
    store_matches_relational(kb)


def test_re_ingesting_a_folder_from_another_cwd_changes_nothing(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = make_docs(tmp_path)
    first = kb.ingest([docs])
    monkeypatch.chdir(docs)
    again = kb.ingest(["."])
    monkeypatch.chdir(tmp_path)
    third = kb.ingest(["docs"])
    for report in (again, third):
        assert report.result.created == report.result.updated == report.result.deleted == []
        assert sorted(report.result.unchanged) == sorted(first.result.created)
    assert kb.stats()["relational_pairs"] == 5


def test_an_edited_document_removes_only_its_own_stale_pairs(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    docs = make_docs(tmp_path)
    kb.ingest([docs])
    (docs / "onco" / "faq.md").write_text(ONCO_FAQ.split("## Can I work")[0], encoding="utf-8")
    report = kb.ingest([docs])
    assert len(report.result.deleted) == 1 and len(report.result.unchanged) == 4
    found = documents_of(kb)
    assert len(found["docs/cardio/faq.md"]) == 2 and len(found["docs/onco/faq.md"]) == 2
    store_matches_relational(kb)


def test_same_named_files_given_alone_are_refused_before_they_overwrite(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """Given by themselves both would be "faq.md": the second is refused, nothing lost."""
    docs = make_docs(tmp_path)
    cardio, onco = docs / "cardio" / "faq.md", docs / "onco" / "faq.md"
    report = kb.ingest([cardio, onco])
    assert [error.path for error in report.errors] == [str(onco)]
    assert "same document id 'faq.md'" in report.errors[0].error
    assert "--source-id" in report.errors[0].error
    assert documents_of(kb) == {"faq.md": {"What should I eat?", "How much exercise do I need?"}}
    with_id = kb.ingest([onco], source_id="onco-faq")
    assert with_id.errors == [] and with_id.to_dict()["removed"] == 0
    assert set(documents_of(kb)) == {"faq.md", "onco-faq"}
    assert kb.stats()["relational_pairs"] == 5


def test_pairs_stored_under_the_bare_name_are_replaced_when_the_bytes_match(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """Upgrading: pairs stored as "faq.md" from the same bytes become "docs/cardio/faq.md"
    rather than twins; bare-name pairs from other bytes are not touched."""
    docs = make_docs(tmp_path)
    kb.ingest([docs / "cardio" / "faq.md"])  # stored as "faq.md", as before this change
    report = kb.ingest([docs])
    assert len(report.result.deleted) == 2 and len(report.result.created) == 5
    assert set(documents_of(kb)) == {"docs/cardio/faq.md", "docs/onco/faq.md"}
    onco = docs / "onco" / "faq.md"
    kb.ingest([onco])  # "faq.md" again, now onco's 3 pairs
    onco.write_text(ONCO_FAQ.replace("small frequent meals", "small meals"), encoding="utf-8")
    edited = kb.ingest([docs])
    assert edited.result.deleted == [] and len(edited.result.updated) == 1
    assert len(documents_of(kb)["faq.md"]) == 3  # other bytes: not known to be this file


def test_source_id_names_a_folder_for_the_python_api(kb: KnowledgeBase, tmp_path: Path) -> None:
    docs = make_docs(tmp_path)
    report = kb.ingest([docs], source_id="guidelines-2024")
    assert report.errors == [] and len(report.result.created) == 5
    assert set(documents_of(kb)) == {"guidelines-2024/cardio/faq.md", "guidelines-2024/onco/faq.md"}


def test_stock_medquad_folder_skips_empty_and_non_content_files(kb: KnowledgeBase) -> None:
    """Issue 9: readme/LICENSE are not pairs, an empty <QAPairs> is a skipped file."""
    report = kb.ingest([MEDQUAD_SAMPLE])
    assert report.errors == []
    skipped = {Path(item.path).name: item.reason for item in report.skipped_files}
    assert set(skipped) == {"readme.txt", "LICENSE.txt", "0000056.xml"}
    assert "empty <QAPairs>" in skipped["0000056.xml"]
    assert report.files == 4 and report.pairs == 6
    assert report.to_dict()["failed_files"] == 0
    assert set(documents_of(kb)) == {
        "medquad-sample/5_NIDDK_QA/0000007.xml",
        "medquad-sample/5_NIDDK_QA/0000010.xml",
        "medquad-sample/9_CDC_QA/0000141.xml",
        "medquad-sample/9_CDC_QA/0000438.xml",
    }
    store_matches_relational(kb)
