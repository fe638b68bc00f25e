"""Heading and paragraph recovery from plain lines (medkb.ingest.layout)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from medkb.ingest.layout import Line, heading_level, lines_to_blocks, page_lines, text_lines
from medkb.ingest.parse import Block

FULL = "Blood pressure is the force of blood against the walls of the arteries and it"


def kinds(blocks: list[Block]) -> list[tuple[str, str]]:
    return [(block.kind, block.text) for block in blocks]


def test_heading_level_shapes() -> None:
    assert heading_level("SYMPTOMS") == 2
    assert heading_level("Warning Signs of a Heart Attack") == 3
    assert heading_level("Type 2 Diabetes") == 3
    assert heading_level("Warning signs of a heart attack") is None
    assert heading_level("It ends with a period.") is None
    assert heading_level("Is It Serious?") is None
    assert heading_level("- Bullet Item") is None
    assert heading_level("120/80") is None
    assert heading_level(" ".join(["Word"] * 13)) is None


def test_pdf_like_lines_become_title_headings_and_paragraphs() -> None:
    lines = [
        Line("Heart Health", 1),
        Line("High Blood Pressure", 1),
        Line(FULL, 1),
        Line("usually has no symptoms.", 1),
        Line("A second short paragraph.", 1),
        Line("Treatment Options", 2),
        Line("Medicine helps.", 2),
    ]
    blocks = lines_to_blocks(lines)
    assert kinds(blocks) == [
        ("heading", "Heart Health"),
        ("heading", "High Blood Pressure"),
        ("paragraph", FULL + " usually has no symptoms."),
        ("paragraph", "A second short paragraph."),
        ("heading", "Treatment Options"),
        ("paragraph", "Medicine helps."),
    ]
    assert [block.level for block in blocks if block.kind == "heading"] == [1, 3, 3]
    assert blocks[-1].page == 2


def test_title_case_line_inside_a_sentence_is_not_a_heading() -> None:
    lines = [
        Line("People often meet their doctor at the"),
        Line("Mayo Clinic Hospital"),
        Line("x."),
    ]
    assert [block.kind for block in lines_to_blocks(lines)] == ["paragraph"]


def test_heading_after_a_full_width_sentence_end() -> None:
    lines = [Line(FULL + "."), Line("Next Section"), Line("Body.")]
    assert [block.kind for block in lines_to_blocks(lines)] == ["paragraph", "heading", "paragraph"]


def test_last_line_is_never_a_heading() -> None:
    assert kinds(lines_to_blocks([Line("Some text."), Line("The End")])) == [
        ("paragraph", "Some text."),
        ("paragraph", "The End"),
    ]


def test_bullets_and_faq_lines_start_paragraphs() -> None:
    lines = [Line("Signs include:"), Line("- chest pain"), Line("- sweating"), Line("Q: Why?")]
    lines.append(Line("A: Because."))
    assert [block.text for block in lines_to_blocks(lines)] == [
        "Signs include:",
        "- chest pain",
        "- sweating",
        "Q: Why?",
        "A: Because.",
    ]


def test_hyphenated_line_ends_are_joined() -> None:
    blocks = lines_to_blocks([Line(FULL + " treat-"), Line("ment works.")])
    assert blocks[0].text.endswith("treatment works.")


def test_page_numbers_and_running_headers_and_footers_are_dropped() -> None:
    pages = [
        f"Heart Guide\n{name}\nBody text {n}.\nmedkb demo - page {n} of 3\n{n}"
        for n, name in enumerate(("Intro", "Causes", "Care"), start=1)
    ]
    assert [(line.text, line.page) for line in page_lines(pages)] == [
        ("Intro", 1),
        ("Body text 1.", 1),
        ("Causes", 2),
        ("Body text 2.", 2),
        ("Care", 3),
        ("Body text 3.", 3),
    ]


def test_running_lines_need_three_pages() -> None:
    pages = ["Footer\nText one.", "Footer\nText two."]
    assert [line.text for line in page_lines(pages)].count("Footer") == 2


def test_text_lines_mark_markdown_headings() -> None:
    lines = text_lines("Guide\n=====\n\nIntro.\n\n## Care Plan ##\nBody.\nSub\n---\nMore.")
    assert [(line.text, line.level) for line in lines if line.level] == [
        ("Guide", 1),
        ("Care Plan", 2),
        ("Sub", 2),
    ]


def test_blank_lines_separate_paragraphs_in_text() -> None:
    text = "first line\nsecond line\n\nthird line"
    assert [b.text for b in lines_to_blocks(text_lines(text))] == [
        "first line second line",
        "third line",
    ]


line_text = st.one_of(
    st.just(""),
    st.lists(st.text(alphabet="abcXYZ.?", min_size=1, max_size=9), min_size=1, max_size=14).map(
        " ".join
    ),
)


@given(st.lists(line_text, max_size=30))
def test_lines_to_blocks_keeps_every_word_in_order(texts: list[str]) -> None:
    blocks = lines_to_blocks([Line(text) for text in texts])
    assert " ".join(block.text for block in blocks).split() == " ".join(texts).split()
    assert all(block.text for block in blocks)
