"""Loaders for structured Q&A (JSONL, JSON, CSV, MedQuAD XML), the registry and iter_files.

Free documents (PDF, DOCX, HTML, Markdown, text) are in test_loaders_documents.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medkb.errors import EmptyDocument, FieldTooLong, InputError, UnreadableDocument
from medkb.ingest.ids import make_id
from medkb.ingest.loaders import (
    SUPPORTED_EXTENSIONS,
    iter_documents,
    iter_files,
    load_bytes,
    load_file,
)
from medkb.models import (
    MAX_QUESTION_CHARS,
    MAX_RESPONSE_CHARS,
    MAX_TEXT_CHARS,
    QAMetadata,
    QAPair,
    Source,
)

#: Samples of the shared data sets, shipped with the tests (tests/data/README.md).
DATA = Path(__file__).resolve().parents[1] / "data"

ROW = {
    "id": "MEDIQA19-00001",
    "question": "Noonan syndrome",
    "answer": "Noonan syndrome is a genetic disorder.",
    "source": "mayoclinic.org",
    "category": "Summary",
    "url": "https://example.org/noonan",
    "first_seen_as": "train1",
    "tags": ["genetics", "children"],
}


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


# --- JSONL ---------------------------------------------------------------------------------


def test_jsonl_row_keeps_id_metadata_and_source(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "corpus.jsonl", [ROW])
    document = load_file(path)
    assert (document.path, document.media_type, document.raw) == (
        path,
        "application/x-ndjson",
        path.read_bytes(),
    )
    [pair] = document.pairs
    assert (pair.id, pair.question, pair.response) == (ROW["id"], ROW["question"], ROW["answer"])
    assert pair.metadata.category == "Summary"
    assert pair.metadata.source == "mayoclinic.org"
    assert pair.metadata.source_type == "jsonl"
    assert pair.metadata.tags == ["genetics", "children"]
    assert pair.metadata.extra == {"first_seen_as": "train1"}
    assert pair.sources[0].document == "corpus.jsonl"
    assert pair.sources[0].url == "https://example.org/noonan"
    assert pair.sources[0].excerpt == ROW["answer"]


def test_response_alias_and_content_derived_ids(tmp_path: Path) -> None:
    rows = [{"question": "Q1?", "response": "R1."}, {"question": "Q2?", "response": "R2."}]
    first = load_file(write_jsonl(tmp_path / "a.jsonl", rows)).pairs
    again = load_file(write_jsonl(tmp_path / "b.jsonl", rows)).pairs
    assert [pair.response for pair in first] == ["R1.", "R2."]
    assert [pair.id for pair in first] == [pair.id for pair in again]
    assert first[0].id == make_id("Q1?", "R1.")
    assert first[0].id != first[1].id


def test_empty_question_is_derived_from_the_answer(tmp_path: Path) -> None:
    answer = "Variants upstream of MEF2C cause developmental disorder. More text follows here."
    row = {"id": "BIOASQ-S1", "question": "", "answer": answer, "pmid": "34022131"}
    [pair] = load_file(write_jsonl(tmp_path / "b.jsonl", [row])).pairs
    assert pair.question == "Variants upstream of MEF2C cause developmental disorder."
    assert pair.metadata.extra == {"pmid": "34022131", "question_derived": True}


def test_rows_without_answer_are_skipped_and_counted(tmp_path: Path) -> None:
    rows = [ROW, {"id": "x", "question": "No answer?", "answer": ""}]
    document = load_file(write_jsonl(tmp_path / "c.jsonl", rows))
    assert [pair.id for pair in document.pairs] == [ROW["id"]]
    assert document.skipped == 1
    assert "line 2 (id x): no answer" in document.warnings[0]


def test_duplicate_ids_are_skipped(tmp_path: Path) -> None:
    document = load_file(write_jsonl(tmp_path / "d.jsonl", [ROW, {**ROW, "answer": "Other."}]))
    assert len(document.pairs) == 1
    assert document.skipped == 1
    assert "duplicate id" in document.warnings[0]


def test_no_usable_rows_is_an_empty_document(tmp_path: Path) -> None:
    with pytest.raises(EmptyDocument, match=r"e\.jsonl has no Q&A pairs \(1 skipped\)"):
        load_file(write_jsonl(tmp_path / "e.jsonl", [{"question": "Q?"}]))


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROW) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(UnreadableDocument, match=r"bad\.jsonl.*line 3 is not valid JSON.*Fix"):
        load_file(path)


def test_non_object_line_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocument, match=r"line 2 is a JSON list"):
        load_file(write_jsonl(tmp_path / "f.jsonl", [ROW, [1, 2]]))


def test_non_text_field_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocument, match=r"line 1: field 'answer' is a dict"):
        load_file(write_jsonl(tmp_path / "g.jsonl", [{"question": "Q", "answer": {"a": 1}}]))


def test_long_answers_refuse_whole_files_no_more(tmp_path: Path) -> None:
    """Issue 8 item 5: a 19,884-char answer (MEDIQA's longest) loads whole by default."""
    long_answer = ("Noonan syndrome affects many systems. " * 600)[:19_884]
    rows = [ROW, {**ROW, "id": "long-1", "answer": long_answer}]
    document = load_file(write_jsonl(tmp_path / "h.jsonl", rows))
    assert [len(pair.response) for pair in document.pairs][1] == len(long_answer.strip())
    assert document.warnings == [] and "truncated" not in document.pairs[1].metadata.extra


def test_overlong_error_mode_refuses_the_file(tmp_path: Path) -> None:
    rows = [ROW, {**ROW, "id": "long-1", "answer": "word " * 2_500}]
    with pytest.raises(FieldTooLong, match=r"h\.jsonl line 2 \(id long-1\).*10,000") as info:
        load_file(write_jsonl(tmp_path / "h.jsonl", rows), overlong="error")
    assert "--overlong error" in str(info.value)


def test_overlong_question_raises_field_too_long_in_error_mode(tmp_path: Path) -> None:
    row = {**ROW, "question": "why " * (MAX_QUESTION_CHARS // 3)}
    with pytest.raises(FieldTooLong, match=r"the question .* 5,000"):
        load_file(write_jsonl(tmp_path / "i.jsonl", [row]), overlong="error")


def test_text_over_the_absolute_cap_is_refused_in_every_mode(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "k.jsonl", [{**ROW, "answer": "x" * (MAX_TEXT_CHARS + 1)}])
    with pytest.raises(FieldTooLong, match=r"k\.jsonl line 1 .*200,000 \(MAX_TEXT_CHARS\)"):
        load_file(path)
    assert len(load_file(path, overlong="truncate").pairs[0].response) <= MAX_RESPONSE_CHARS


def test_overlong_fields_can_be_truncated(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "j.jsonl", [{**ROW, "answer": "word " * 2_500}])
    document = load_file(path, overlong="truncate")
    [pair] = document.pairs
    assert len(pair.response) <= MAX_RESPONSE_CHARS
    assert pair.id == ROW["id"]
    assert pair.metadata.extra["truncated"] == ["response"]
    assert "cut to 10,000" in document.warnings[0]


def test_medkb_export_loads_back_unchanged(tmp_path: Path) -> None:
    pair = QAPair(
        id="qa-1",
        question="What is asthma?",
        response="A lung condition.",
        metadata=QAMetadata(category="Respiratory", tags=["lungs"], extra={"focus": "Asthma"}),
        sources=[Source(document="guide.pdf", page=3, section="Asthma", excerpt="A lung")],
    )
    [loaded] = load_file(write_jsonl(tmp_path / "export.jsonl", [pair.to_dict()])).pairs
    assert loaded.metadata.source_type == "jsonl"
    loaded.metadata.source_type = None
    assert loaded == pair


def test_a_large_jsonl_loads_every_row_whole(tmp_path: Path) -> None:
    """20,000 rows, each kept with its id and whole answer. (How fast is a benchmark's
    question, not a test's: a CPU-time limit here failed on a busy CI machine.)"""
    rows = [
        {"id": f"r{n}", "question": f"Question {n}?", "answer": "An answer sentence. " * 25}
        for n in range(20_000)
    ]
    document = load_file(write_jsonl(tmp_path / "big.jsonl", rows))
    assert [pair.id for pair in document.pairs] == [row["id"] for row in rows]
    assert {pair.response for pair in document.pairs} == {rows[0]["answer"].strip()}


# --- JSON and CSV --------------------------------------------------------------------------


def test_json_list(tmp_path: Path) -> None:
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps([ROW, {**ROW, "id": "two"}]), encoding="utf-8")
    document = load_file(path)
    assert [pair.id for pair in document.pairs] == [ROW["id"], "two"]
    assert document.media_type == "application/json"


def test_json_must_be_a_list(tmp_path: Path) -> None:
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps(ROW), encoding="utf-8")
    with pytest.raises(UnreadableDocument, match="must hold a list"):
        load_file(path)


def test_csv_rows(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text(
        "id,question,answer,category,tags,is_active,page\n"
        'c1,What is flu?,"A virus, spread by droplets.",Infectious disease,"flu; virus",no,4\n'
        "c2,Second?,Yes.,,,,\n",
        encoding="utf-8",
    )
    first, second = load_file(path).pairs
    assert (first.id, first.response) == ("c1", "A virus, spread by droplets.")
    assert first.metadata.tags == ["flu", "virus"]
    assert first.metadata.is_active is False
    assert first.sources[0].page == 4
    assert (second.metadata.category, second.metadata.is_active) == (None, True)


def test_csv_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text("id,question,answer\nc1,Q?," + "x" * 10_001 + "\n", encoding="utf-8")
    with pytest.raises(FieldTooLong, match=r"pairs\.csv line 2 \(id c1\)"):
        load_file(path, overlong="error")


def test_csv_needs_an_answer_column(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text("id,question\nc1,Q?\n", encoding="utf-8")
    with pytest.raises(UnreadableDocument, match="no answer column"):
        load_file(path)


def test_csv_must_be_utf8(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_bytes("question,answer\nCaf\xe9?,Yes.\n".encode("latin-1"))
    with pytest.raises(UnreadableDocument, match="UTF-8"):
        load_file(path)


def test_tsv_rows(tmp_path: Path) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text("question\tanswer\nQ?\tA.\n", encoding="utf-8")
    assert load_file(path).pairs[0].response == "A."


# --- MedQuAD XML ---------------------------------------------------------------------------

MEDQUAD = """<?xml version="1.0" encoding="UTF-8"?>
<Document id="0000001" source="NIDDK" url="http://www.niddk.nih.gov/acromegaly">
<Focus>Acromegaly</Focus>
<FocusAnnotations><UMLS>
  <CUIs><CUI>C0001206</CUI></CUIs>
  <SemanticTypes><SemanticType>T047</SemanticType></SemanticTypes>
  <SemanticGroup>Disorders</SemanticGroup>
</UMLS></FocusAnnotations>
<QAPairs>
  <QAPair pid="1">
    <Question qid="0000001-1" qtype="information">What is (are) Acromegaly ?</Question>
    <Answer>Acromegaly is a hormonal disorder.
        \n        Too much growth hormone causes it.  - large hands  - large feet</Answer>
  </QAPair>
  <QAPair pid="2">
    <Question qid="0000001-2" qtype="symptoms">Who is at risk for Acromegaly? ?</Question>
    <Answer></Answer>
  </QAPair>
</QAPairs>
</Document>
"""


def test_medquad_pair_ids_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "0000001.xml"
    path.write_text(MEDQUAD, encoding="utf-8")
    document = load_file(path)
    [pair] = document.pairs
    assert pair.id == "medquad-niddk-0000001-1"
    assert pair.question == "What is (are) Acromegaly?"
    assert pair.response == (
        "Acromegaly is a hormonal disorder.\n\nToo much growth hormone causes it.\n"
        "- large hands\n- large feet"
    )
    assert (pair.metadata.source, pair.metadata.source_type) == ("NIDDK", "xml")
    assert pair.metadata.category == "Endocrinology"
    assert pair.metadata.extra == {
        "focus": "Acromegaly",
        "cuis": ["C0001206"],
        "semantic_types": ["T047"],
        "semantic_group": "Disorders",
        "qtype": "information",
        "qid": "0000001-1",
    }
    assert pair.sources[0].url == "http://www.niddk.nih.gov/acromegaly"
    assert document.skipped == 1
    assert "QAPair 2" in document.warnings[0]


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("<Document><QAPairs><QAPair>", UnreadableDocument, "invalid XML"),
        ("<Article/>", UnreadableDocument, "not a MedQuAD <Document>"),
    ],
)
def test_medquad_problems(tmp_path: Path, text: str, error: type[Exception], message: str) -> None:
    path = tmp_path / "doc.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error, match=message):
        load_file(path)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('<Document id="1"><QAPairs></QAPairs></Document>', "empty <QAPairs>"),
        (
            '<Document id="1" source="X"><QAPairs><QAPair pid="1"><Question>Q?</Question>'
            "<Answer></Answer></QAPair></QAPairs></Document>",
            "no answered <QAPair>",
        ),
    ],
)
def test_medquad_file_with_nothing_to_load_is_skipped_not_refused(
    tmp_path: Path, text: str, reason: str
) -> None:
    """Issue 9: the stock MedQuAD folder has files with an empty <QAPairs>."""
    path = tmp_path / "doc.xml"
    path.write_text(text, encoding="utf-8")
    document = load_file(path)
    assert document.pairs == [] and document.skip_file is not None
    assert reason in document.skip_file and "doc.xml" in document.warnings[0]


@pytest.mark.parametrize(
    "name",
    [
        "5_NIDDK_QA/0000001.xml",
        "5_NIDDK_QA/0000004.xml",
        "9_CDC_QA/0000003.xml",
        "9_CDC_QA/0000397.xml",
    ],
)
def test_real_medquad_files(name: str) -> None:
    path = DATA / "medquad-xml" / name
    document = load_file(path)
    text = path.read_text(encoding="utf-8")
    assert len(document.pairs) + document.skipped == text.count("<QAPair ")
    assert len({pair.id for pair in document.pairs}) == len(document.pairs)
    for pair in document.pairs:
        assert pair.id.startswith("medquad-")
        assert pair.question.endswith("?")
        assert pair.metadata.extra["qtype"]
        assert pair.metadata.extra["focus"]
        assert pair.metadata.source in ("NIDDK", "CDC")
        assert pair.sources[0].url and pair.sources[0].url.startswith("http")
    assert load_file(path).pairs == document.pairs


def test_real_medquad_collections_do_not_collide() -> None:
    niddk = load_file(DATA / "medquad-xml" / "5_NIDDK_QA" / "0000003.xml").pairs
    cdc = load_file(DATA / "medquad-xml" / "9_CDC_QA" / "0000003.xml").pairs
    assert not {pair.id for pair in niddk} & {pair.id for pair in cdc}


@pytest.mark.parametrize("corpus", ["mediqa2019", "bioasq"])
def test_real_corpus_rows_keep_their_ids(tmp_path: Path, corpus: str) -> None:
    with (DATA / corpus / "corpus.jsonl").open(encoding="utf-8") as lines:
        head = list(lines)  # the first 50 rows of the data set
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(head), encoding="utf-8")
    pairs = load_file(path).pairs
    rows = [json.loads(line) for line in head]
    assert [pair.id for pair in pairs] == [row["id"] for row in rows]
    assert all(pair.question and pair.response for pair in pairs)
    assert all(pair.metadata.source == row["source"] for pair, row in zip(pairs, rows, strict=True))


# --- registry and iter_files --------------------------------------------------------------


def test_unknown_extension_names_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "notes.rtf"
    path.write_text("text", encoding="utf-8")
    with pytest.raises(UnreadableDocument, match=r"'\.rtf'.*\.docx.*\.pdf"):
        load_file(path)
    assert ".PDF".lower() in SUPPORTED_EXTENSIONS


def test_missing_path_folder_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No such file"):
        load_file(tmp_path / "missing.pdf")
    with pytest.raises(InputError, match="is a folder"):
        load_file(tmp_path)
    (tmp_path / "empty.jsonl").write_bytes(b"\n\n")
    with pytest.raises(EmptyDocument, match=r"empty\.jsonl is empty"):
        load_file(tmp_path / "empty.jsonl")


def test_load_bytes_uses_the_name(tmp_path: Path) -> None:
    document = load_bytes(json.dumps(ROW).encode(), name="upload.JSONL")
    assert document.path == Path("upload.JSONL")
    assert document.pairs[0].sources[0].document == "upload.JSONL"


def test_iter_files_expands_folders(tmp_path: Path) -> None:
    for name in [
        "b/z.md",
        "b/a.txt",
        "a.pdf",
        ".hidden.txt",
        ".git/x.txt",
        "notes.rtf",
        "~$lock.docx",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    explicit = tmp_path / "notes.rtf"
    found = list(iter_files([tmp_path, explicit, tmp_path / "a.pdf"]))
    assert found == [tmp_path / "a.pdf", tmp_path / "b/a.txt", tmp_path / "b/z.md", explicit]


def test_documents_are_identified_by_their_path_in_the_folder(tmp_path: Path) -> None:
    """Issue 8 item 1: same-named files in different folders are different documents."""
    docs = tmp_path / "docs"
    for name in ["cardio/faq.md", "onco/faq.md", "faq.md"]:
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text("x", encoding="utf-8")
    by_folder = [(f.path, f.document) for f in iter_documents([docs])]
    assert by_folder == [
        (docs / "cardio/faq.md", "docs/cardio/faq.md"),
        (docs / "faq.md", "docs/faq.md"),
        (docs / "onco/faq.md", "docs/onco/faq.md"),
    ]
    with_id = iter_documents([docs], source_id="kb1")
    assert next(f.document for f in with_id) == "kb1/cardio/faq.md"
    assert [f.document for f in iter_documents([docs / "onco" / "faq.md"])] == ["faq.md"]
    assert [f.document for f in iter_documents([docs / "faq.md"], source_id="x")] == ["x"]


def test_document_id_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    (docs / "cardio").mkdir(parents=True)
    (docs / "cardio" / "faq.md").write_text("x", encoding="utf-8")
    expected = ["docs/cardio/faq.md"]
    assert [f.document for f in iter_documents([docs])] == expected
    monkeypatch.chdir(docs)
    assert [f.document for f in iter_documents([Path(".")])] == expected
    monkeypatch.chdir(tmp_path)
    assert [f.document for f in iter_documents([Path("docs")])] == expected


def test_a_symlinked_folder_keeps_its_own_name_in_document_ids(tmp_path: Path) -> None:
    (tmp_path / "release-7").mkdir()
    (tmp_path / "release-7" / "faq.md").write_text("x", encoding="utf-8")
    (tmp_path / "current").symlink_to(tmp_path / "release-7")
    assert [f.document for f in iter_documents([tmp_path / "current"])] == ["current/faq.md"]


def test_free_document_pair_ids_differ_for_same_named_files(tmp_path: Path) -> None:
    for folder in ("cardio", "onco"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "faq.md").write_text("# FAQ\n\n## Diet?\n\nEat well.\n")
    cardio, onco = (
        load_file(f.path, document=f.document).pairs for f in iter_documents([tmp_path])
    )
    assert cardio[0].id != onco[0].id
    assert cardio[0].sources[0].document == f"{tmp_path.name}/cardio/faq.md"
    alone = load_file(tmp_path / "onco" / "faq.md").pairs[0]
    assert (alone.id, alone.sources[0].document) == (make_id("faq.md", "Diet?"), "faq.md")


def test_readme_and_license_in_folders_are_skipped_not_loaded(tmp_path: Path) -> None:
    for name in ["readme.txt", "LICENSE.txt", "LICENSE", "CHANGELOG.md", "notice", "a.txt"]:
        (tmp_path / name).write_text("x", encoding="utf-8")
    found = {f.path.name: f.skip for f in iter_documents([tmp_path])}
    assert found.pop("a.txt") is None
    assert set(found) == {"readme.txt", "LICENSE.txt", "LICENSE", "CHANGELOG.md", "notice"}
    assert all(reason and "README/LICENSE" in reason for reason in found.values())
    assert list(iter_files([tmp_path])) == [tmp_path / "a.txt"]
    assert [f.skip for f in iter_documents([tmp_path / "readme.txt"])] == [None]  # asked for


def test_iter_files_rejects_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No such file or folder"):
        list(iter_files([tmp_path / "nope"]))
