"""Free-document loaders (PDF, DOCX, HTML, Markdown, text) and the shipped demo files."""

from __future__ import annotations

import os
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from medkb.demo import DEMO_QUESTIONS, demo_files
from medkb.errors import EmptyDocument, UnreadableDocument
from medkb.ingest.loaders import ParsedDocument, load_file
from medkb.models import MAX_RESPONSE_CHARS

BODY = (
    "High blood pressure rarely causes symptoms, so the only way to know your numbers is to "
    "have them measured at a clinic, a pharmacy or at home with a validated monitor."
)

#: (kind, text) items per page; kinds: "title", "heading", "text".
PAGES = [
    [
        ("title", "Heart Health"),
        ("text", "A short guide to a healthy heart."),
        ("heading", "High Blood Pressure"),
        ("text", BODY),
        ("text", "Eating less salt helps lower it."),
    ],
    [
        ("heading", "Frequently Asked Questions"),
        ("text", "Q: Is a stroke the same as a heart attack?"),
        ("text", "A: No. A stroke affects the brain."),
    ],
]


def make_pdf(path: Path, pages: list[list[tuple[str, str]]], *, title: str | None = None) -> Path:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    for page in pages:
        pdf.add_page()
        for kind, text in page:
            pdf.set_font("Helvetica", "B" if kind != "text" else "", 11)
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    pdf.output(str(path))
    return path


def make_docx(path: Path, items: list[tuple[str, str]]) -> Path:
    document = docx.Document()
    for kind, text in items:
        if kind == "title":
            document.add_paragraph(text, style="Title")
        elif kind.startswith("h"):
            document.add_heading(text, level=int(kind[1:]))
        elif kind == "bullet":
            document.add_paragraph(text, style="List Bullet")
        elif kind == "bold":
            document.add_paragraph().add_run(text).bold = True
        elif kind == "break":
            document.add_page_break()
        else:
            document.add_paragraph(text)
    document.save(str(path))
    return path


def by_question(document: ParsedDocument) -> dict[str, tuple[str, int | None, str | None]]:
    return {
        pair.question: (pair.response, pair.sources[0].page, pair.sources[0].section)
        for pair in document.pairs
    }


# --- PDF -----------------------------------------------------------------------------------


def test_pdf_headings_pages_and_faq(tmp_path: Path) -> None:
    document = load_file(make_pdf(tmp_path / "heart-guide.pdf", PAGES))
    assert document.media_type == "application/pdf"
    assert document.title == "Heart Health"
    assert by_question(document) == {
        "Heart Health": ("A short guide to a healthy heart.", 1, "Heart Health"),
        "Heart Health: High Blood Pressure": (
            BODY + "\n\nEating less salt helps lower it.",
            1,
            "Heart Health > High Blood Pressure",
        ),
        "Is a stroke the same as a heart attack?": (
            "No. A stroke affects the brain.",
            2,
            "Heart Health > Frequently Asked Questions",
        ),
    }
    pair = document.pairs[1]
    assert pair.sources[0].document == "heart-guide.pdf"
    assert pair.sources[0].excerpt == pair.response.replace("\n\n", " ")
    assert (pair.metadata.source, pair.metadata.source_type) == ("heart-guide", "pdf")
    assert pair.metadata.category == "Cardiology"


def test_pdf_title_from_properties(tmp_path: Path) -> None:
    pages = [[("text", "Plain text only. " * 5)]]
    document = load_file(make_pdf(tmp_path / "x.pdf", pages, title="Cardiac Rehab"))
    assert document.pairs[0].question == "Cardiac Rehab"


def test_truncated_pdf_is_unreadable(tmp_path: Path) -> None:
    raw = make_pdf(tmp_path / "full.pdf", PAGES).read_bytes()
    (tmp_path / "cut.pdf").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(UnreadableDocument, match=r"cut\.pdf.*damaged or truncated.*Re-export"):
        load_file(tmp_path / "cut.pdf")


def test_pdf_without_text_is_empty(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.output(str(tmp_path / "scan.pdf"))
    with pytest.raises(EmptyDocument, match=r"scan\.pdf has no extractable text.*OCR"):
        load_file(tmp_path / "scan.pdf")


def test_overlong_pdf_section_is_split(tmp_path: Path) -> None:
    paragraphs = [("text", f"Paragraph {n}. " + "Blood pressure matters. " * 40) for n in range(14)]
    pages = [[("title", "Long Guide"), ("heading", "Treatment Options"), *paragraphs]]
    document = load_file(make_pdf(tmp_path / "long.pdf", pages))
    questions = [pair.question for pair in document.pairs]
    assert questions[:2] == [
        "Long Guide: Treatment Options",
        "Long Guide: Treatment Options (part 2)",
    ]
    assert all(len(pair.response) <= MAX_RESPONSE_CHARS for pair in document.pairs)
    assert len({pair.id for pair in document.pairs}) == len(document.pairs)
    assert document.pairs[-1].sources[0].page is not None and document.pairs[-1].sources[0].page > 1


# --- DOCX ----------------------------------------------------------------------------------


def test_docx_styles_lists_tables_and_pages(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "care.docx",
        [
            ("title", "Diabetes Care"),
            ("h1", "Healthy Eating"),
            ("text", "Use the plate method:"),
            ("bullet", "Half vegetables."),
            ("break", ""),
            ("h1", "Common Questions"),
            ("bold", "Is fruit safe?"),
            ("text", "Yes, whole fruit is fine."),
        ],
    )
    document = docx.Document(str(path))
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Before meals", "80 to 130"
    document.save(str(path))
    loaded = load_file(path)
    assert by_question(loaded) == {
        "Diabetes Care: Healthy Eating": (
            "Use the plate method:\n\n- Half vegetables.",
            1,
            "Diabetes Care > Healthy Eating",
        ),
        "Is fruit safe?": (
            "Yes, whole fruit is fine.\n\nBefore meals | 80 to 130",
            2,
            "Diabetes Care > Common Questions > Is fruit safe?",
        ),
    }
    assert loaded.pairs[0].metadata.source_type == "docx"


def test_docx_without_page_breaks_has_no_pages(tmp_path: Path) -> None:
    loaded = load_file(make_docx(tmp_path / "a.docx", [("h1", "Asthma Basics"), ("text", "Hi.")]))
    assert loaded.pairs[0].sources[0].page is None
    assert loaded.pairs[0].question == "Asthma Basics"


def test_random_bytes_docx_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "junk.docx").write_bytes(os.urandom(2_000))
    with pytest.raises(UnreadableDocument, match=r"junk\.docx.*not a valid Word document"):
        load_file(tmp_path / "junk.docx")


def test_empty_docx_is_empty(tmp_path: Path) -> None:
    with pytest.raises(EmptyDocument, match="no extractable text"):
        load_file(make_docx(tmp_path / "blank.docx", []))


def test_docx_headings_only(tmp_path: Path) -> None:
    with pytest.raises(EmptyDocument, match="headings but no body text"):
        load_file(make_docx(tmp_path / "outline.docx", [("h1", "One"), ("h2", "Two")]))


# --- HTML, Markdown, text ------------------------------------------------------------------

HTML = """<!DOCTYPE html><html lang="en-GB"><head><title>Asthma Guide</title>
<meta name="author" content="Clinic Team"><meta property="og:site_name" content="Lung Clinic">
<meta name="keywords" content="asthma, inhalers"><link rel="canonical" href="https://x.org/asthma">
<script>var x = 1;</script><style>p {}</style></head>
<body><nav>Home | About</nav><h1>Asthma Guide</h1><p>Asthma narrows the airways.</p>
<h2>Triggers</h2><ul><li>Pollen</li><li>Smoke</li></ul><div>Loose text in a div.</div>
<h2>Is asthma curable?</h2><p>No, but it can be controlled.</p>
<table><tr><th>Inhaler</th><th>Use</th></tr><tr><td>Reliever</td><td>Attacks</td></tr></table>
<footer>Copyright</footer></body></html>"""


def test_html_structure_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "asthma.html"
    path.write_text(HTML, encoding="utf-8")
    document = load_file(path)
    assert by_question(document) == {
        "Asthma Guide": ("Asthma narrows the airways.", None, "Asthma Guide"),
        "Asthma Guide: Triggers": (
            "- Pollen\n\n- Smoke\n\nLoose text in a div.",
            None,
            "Asthma Guide > Triggers",
        ),
        "Is asthma curable?": (
            "No, but it can be controlled.\n\nInhaler | Use\n\nReliever | Attacks",
            None,
            "Asthma Guide > Is asthma curable?",
        ),
    }
    metadata = document.pairs[0].metadata
    assert (metadata.source, metadata.author, metadata.language) == (
        "Lung Clinic",
        "Clinic Team",
        "en-GB",
    )
    assert metadata.tags == ["asthma", "inhalers"]
    assert metadata.category == "Respiratory"
    assert document.pairs[0].sources[0].url == "https://x.org/asthma"
    assert "var x" not in " ".join(pair.response for pair in document.pairs)


def test_empty_html_is_empty(tmp_path: Path) -> None:
    (tmp_path / "blank.htm").write_text("<html><body><script>x()</script></body></html>")
    with pytest.raises(EmptyDocument):
        load_file(tmp_path / "blank.htm")


MARKDOWN = """---
title: Flu Facts
source: Public Health Team
tags: [flu, vaccines]
category: Infectious disease
---
# Flu Facts

Flu is caused by **influenza** viruses. See [the guide](http://x.org).

## Prevention

- Get a yearly vaccine
- Wash your hands

Q: Can antibiotics treat flu?
A: No, flu is a virus.

```
code sample
```
"""


def test_markdown_front_matter_headings_and_faq(tmp_path: Path) -> None:
    path = tmp_path / "flu.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    document = load_file(path)
    assert by_question(document) == {
        "Flu Facts": ("Flu is caused by influenza viruses. See the guide.", None, "Flu Facts"),
        "Flu Facts: Prevention": (
            "- Get a yearly vaccine\n\n- Wash your hands",
            None,
            "Flu Facts > Prevention",
        ),
        "Can antibiotics treat flu?": (
            "No, flu is a virus.\n\ncode sample",
            None,
            "Flu Facts > Prevention",
        ),
    }
    metadata = document.pairs[0].metadata
    assert (metadata.source, metadata.category, metadata.tags) == (
        "Public Health Team",
        "Infectious disease",
        ["flu", "vaccines"],
    )
    assert metadata.source_type == "markdown"


def test_text_file_headings_and_questions(tmp_path: Path) -> None:
    path = tmp_path / "migraine-notes.txt"
    path.write_text(
        "MIGRAINE\n\nA migraine is a severe headache.\n\nCommon Triggers\n"
        "Stress and poor sleep.\n\nWhen should I see a doctor?\nIf headaches change.\n",
        encoding="utf-8",
    )
    assert by_question(load_file(path)) == {
        "MIGRAINE": ("A migraine is a severe headache.", None, "MIGRAINE"),
        "MIGRAINE: Common Triggers": ("Stress and poor sleep.", None, "MIGRAINE > Common Triggers"),
        "When should I see a doctor?": (
            "If headaches change.",
            None,
            "MIGRAINE > Common Triggers",
        ),
    }


def test_text_without_structure_is_chunked(tmp_path: Path) -> None:
    path = tmp_path / "sleep_notes.txt"
    path.write_text(
        "\n\n".join(f"Note {n}: sleep well. " * 12 for n in range(10)), encoding="utf-8"
    )
    document = load_file(path)
    assert document.title == "Sleep notes"
    assert [pair.question for pair in document.pairs][:2] == [
        "Sleep notes (section 1)",
        "Sleep notes (section 2)",
    ]


def test_binary_text_is_unreadable_and_cp1252_is_read(tmp_path: Path) -> None:
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02abc")
    with pytest.raises(UnreadableDocument, match="binary"):
        load_file(tmp_path / "bin.txt")
    (tmp_path / "old.txt").write_bytes("Caf\xe9 au lait is fine.".encode("cp1252"))
    document = load_file(tmp_path / "old.txt")
    assert "Café" in document.pairs[0].response
    assert "not UTF-8" in document.warnings[0]


# --- ids ------------------------------------------------------------------------------------


def test_document_ids_are_stable_and_follow_the_question(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text("# Guide\n\n## Causes\n\nMany.\n\n## Care\n\nRest.\n", encoding="utf-8")
    first = {pair.question: pair.id for pair in load_file(path).pairs}
    assert first == {pair.question: pair.id for pair in load_file(path).pairs}
    path.write_text(
        "# Guide\n\n## Causes\n\nMany more.\n\n## Home Care\n\nRest.\n", encoding="utf-8"
    )
    second = {pair.question: pair.id for pair in load_file(path).pairs}
    assert second["Guide: Causes"] == first["Guide: Causes"]
    assert second["Guide: Home Care"] not in first.values()


def test_repeated_question_gets_distinct_ids(tmp_path: Path) -> None:
    path = tmp_path / "faq.md"
    path.write_text("Q: Why?\nA: One.\n\nQ: Why?\nA: Two.\n", encoding="utf-8")
    pairs = load_file(path).pairs
    assert [pair.response for pair in pairs] == ["One.", "Two."]
    assert pairs[0].id != pairs[1].id


# --- demo files ----------------------------------------------------------------------------


def test_demo_files_exist_and_are_small() -> None:
    paths = demo_files()
    assert [path.name for path in paths] == ["qa.jsonl", "heart-health.pdf", "diabetes-care.docx"]
    assert all(path.is_file() and path.stat().st_size < 100_000 for path in paths)
    assert DEMO_QUESTIONS and all(question.endswith("?") for question in DEMO_QUESTIONS)


def test_demo_qa_pairs() -> None:
    pairs = load_file(demo_files()[0]).pairs
    assert 40 <= len(pairs) <= 60
    assert len({pair.id for pair in pairs}) == len(pairs)
    assert len({pair.metadata.category for pair in pairs}) >= 8
    assert all(pair.metadata.source == "medkb demo (written for this project)" for pair in pairs)
    assert all(pair.metadata.tags for pair in pairs)


@pytest.mark.parametrize(("index", "pages"), [(1, {1, 2, 3}), (2, {1, 2, 3})])
def test_demo_documents_parse_into_cited_pairs(index: int, pages: set[int]) -> None:
    document = load_file(demo_files()[index])
    assert len(document.pairs) >= 8
    assert {pair.sources[0].page for pair in document.pairs} == pages
    assert all(pair.sources[0].section for pair in document.pairs)
    faq = [pair for pair in document.pairs if pair.question.endswith("?")]
    assert len(faq) >= 3
    assert not any(pair.response.startswith(("A:", "Q:")) for pair in document.pairs)
    assert not any("medkb demo - Heart Health" in pair.response for pair in document.pairs)
