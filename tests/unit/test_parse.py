"""The pure Q&A parser (medkb.ingest.parse) and its text helpers."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from medkb.ingest.parse import Block, Draft, faq_question, heading_question, parse_blocks
from medkb.ingest.text import first_sentence, shorten, split_to_fit, tidy

TITLE = "Hypertension"


def heading(text: str, level: int = 2, page: int | None = None) -> Block:
    return Block("heading", text, level, page)


def para(text: str, page: int | None = None) -> Block:
    return Block("paragraph", text, page=page)


def questions(drafts: list[Draft]) -> list[str]:
    return [draft.question for draft in drafts]


# --- FAQ patterns -------------------------------------------------------------------------


def test_q_and_a_paragraphs_make_pairs() -> None:
    drafts = parse_blocks(
        [para("Q: What is blood pressure?"), para("A: The force of blood."), para("More.")],
        title=TITLE,
    )
    assert drafts == [Draft("What is blood pressure?", "The force of blood.\n\nMore.", TITLE)]


def test_inline_answer_in_the_question_paragraph() -> None:
    drafts = parse_blocks([para("Question: Is it silent? Answer: Usually, yes.")], title=TITLE)
    assert [(d.question, d.response) for d in drafts] == [("Is it silent?", "Usually, yes.")]


def test_faq_question_splits_prefix_and_inline_answer() -> None:
    assert faq_question("Q: Why? A: Because.") == ("Why?", "Because.")
    assert faq_question("Q: Why?") == ("Why?", "")
    assert faq_question("Quick question: why?") is None


def test_question_line_followed_by_paragraphs() -> None:
    blocks = [para("How is it treated?"), para("With lifestyle changes."), para("And medicine.")]
    drafts = parse_blocks(blocks, title=TITLE)
    assert questions(drafts) == ["How is it treated?"]
    assert drafts[0].response == "With lifestyle changes.\n\nAnd medicine."


def test_heading_ending_in_question_mark_is_the_question() -> None:
    drafts = parse_blocks([heading("Who is at risk?"), para("Older adults.")], title=TITLE)
    assert questions(drafts) == ["Who is at risk?"]


def test_question_without_answer_stays_text() -> None:
    drafts = parse_blocks(
        [heading("Symptoms"), para("Often none."), para("Is it rare?")], title=TITLE
    )
    assert questions(drafts) == ["Hypertension: Symptoms"]
    assert drafts[0].response == "Often none.\n\nIs it rare?"


# --- headings -----------------------------------------------------------------------------


def test_headings_become_questions_under_their_parent() -> None:
    blocks = [
        heading(TITLE, 1),
        para("A common condition."),
        heading("Symptoms"),
        para("Usually none."),
        heading("In Children", 3),
        para("Rare."),
    ]
    drafts = parse_blocks(blocks, title=TITLE)
    assert questions(drafts) == [TITLE, "Hypertension: Symptoms", "Symptoms: In Children"]
    assert drafts[2].section == "Hypertension > Symptoms > In Children"


def test_heading_question_rules() -> None:
    assert heading_question(["Symptoms"], "Asthma") == "Asthma: Symptoms"
    assert heading_question(["Asthma"], "Asthma") == "Asthma"
    assert heading_question(["Asthma", "Triggers"], "Guide") == "Asthma: Triggers"
    assert heading_question(["What is asthma?"], "Guide") == "What is asthma?"


def test_text_before_the_first_heading_belongs_to_the_title() -> None:
    drafts = parse_blocks([para("Intro."), heading("Causes"), para("Many.")], title=TITLE)
    assert [(d.question, d.section) for d in drafts] == [
        (TITLE, TITLE),
        ("Hypertension: Causes", "Causes"),
    ]


def test_empty_sections_are_dropped() -> None:
    drafts = parse_blocks([heading("A"), heading("B"), para("Text.")], title=TITLE)
    assert questions(drafts) == ["Hypertension: B"]


def test_pages_follow_the_text() -> None:
    blocks = [
        heading("Causes", page=1),
        para("One.", page=2),
        heading("Care", page=3),
        para("X", 3),
    ]
    assert [d.page for d in parse_blocks(blocks, title=TITLE)] == [2, 3]


# --- chunks and splitting -----------------------------------------------------------------


def test_plain_paragraphs_are_chunked_with_numbered_sections() -> None:
    blocks = [para(f"Paragraph {n}. " + "word " * 60) for n in range(12)]
    drafts = parse_blocks(blocks, title="Notes")
    assert len(drafts) > 1
    assert questions(drafts) == [f"Notes (section {n})" for n in range(1, len(drafts) + 1)]
    assert all(len(d.response) <= 1_500 for d in drafts)
    assert all(len(d.response) >= 800 for d in drafts[:-1])


def test_title_heading_alone_still_means_chunks() -> None:
    drafts = parse_blocks([heading("Notes", 1), para("Short text.")], title="Notes")
    assert questions(drafts) == ["Notes"]
    drafts = parse_blocks([heading("Notes", 1), *[para("Long text. " * 90)] * 2], title="Notes")
    assert questions(drafts) == ["Notes (section 1)", "Notes (section 2)"]


def test_overlong_section_is_split_into_parts() -> None:
    body = [para(f"Sentence {n} " + "x" * 300 + ".") for n in range(10)]
    drafts = parse_blocks([heading("Treatment"), *body], title=TITLE, limit=1_000)
    assert questions(drafts)[:3] == [
        "Hypertension: Treatment",
        "Hypertension: Treatment (part 2)",
        "Hypertension: Treatment (part 3)",
    ]
    assert all(len(d.response) <= 1_000 for d in drafts)


def test_overlong_paragraph_is_split_at_sentences() -> None:
    text = " ".join(f"Sentence number {n} is here." for n in range(100))
    drafts = parse_blocks([heading("Long"), para(text)], title=TITLE, limit=500)
    assert all(len(d.response) <= 500 for d in drafts)
    assert " ".join(d.response for d in drafts) == text
    assert all(d.response.endswith(".") for d in drafts)


def test_overlong_question_is_shortened() -> None:
    drafts = parse_blocks(
        [para("Q: " + "why " * 50 + "?"), para("A: ok")], title=TITLE, question_limit=40
    )
    assert len(drafts[0].question) <= 40
    assert drafts[0].question.endswith("…")


# --- invariants ---------------------------------------------------------------------------

words = st.text(alphabet="abcdefghij", min_size=1, max_size=8)
sentences_ = st.lists(words, min_size=1, max_size=12).map(lambda ws: " ".join(ws) + ".")
paragraph_text = st.lists(sentences_, min_size=1, max_size=6).map(" ".join)
heading_text = st.lists(words, min_size=1, max_size=4).map(lambda ws: " ".join(ws).title())
blocks_ = st.lists(
    st.one_of(
        paragraph_text.map(para),
        st.builds(heading, heading_text, st.integers(min_value=1, max_value=4)),
        sentences_.map(lambda text: para("Q: " + text[:-1] + "?")),
        sentences_.map(lambda text: para("A: " + text)),
        sentences_.map(lambda text: para(text[:-1] + "?")),
    ),
    max_size=25,
)


def _normal(text: str) -> str:
    return re.sub(r"^(?:Q|A)\s*:\s*", "", " ".join(text.split()))


@given(blocks_, st.sampled_from([300, 10_000]))
def test_no_paragraph_text_is_lost(blocks: list[Block], limit: int) -> None:
    drafts = parse_blocks(blocks, title="Doc", limit=limit)
    everything = " ".join(f"{d.question} {d.response}" for d in drafts)
    flat = " ".join(everything.split())
    for block in blocks:
        if block.kind == "paragraph":
            for piece in split_to_fit(_normal(block.text), limit):
                assert piece in flat


@given(blocks_, st.sampled_from([300, 10_000]))
def test_drafts_respect_the_limits(blocks: list[Block], limit: int) -> None:
    for draft in parse_blocks(blocks, title="Doc", limit=limit, question_limit=200):
        assert draft.response.strip()
        assert len(draft.response) <= limit
        assert len(draft.question) <= 200


@given(blocks_)
def test_parsing_is_deterministic(blocks: list[Block]) -> None:
    assert parse_blocks(blocks, title="Doc") == parse_blocks(list(blocks), title="Doc")


# --- text helpers -------------------------------------------------------------------------


def test_tidy_keeps_paragraphs_and_drops_layout_whitespace() -> None:
    assert tidy("  a  b\r\n\n\n\n  c\t d \n e  ") == "a b\n\nc d\ne"
    assert tidy("plain") == "plain"


def test_shorten_cuts_at_a_word() -> None:
    assert shorten("short", 10) == "short"
    assert shorten("one two three four", 12) == "one two…"
    assert len(shorten("x" * 50, 10)) == 10


def test_first_sentence() -> None:
    assert first_sentence("Flu is a virus. It spreads fast.") == "Flu is a virus."
    assert len(first_sentence("word " * 200, limit=50)) <= 50
    assert first_sentence("") == ""


@given(st.text(alphabet="ab .", min_size=1, max_size=400), st.integers(min_value=5, max_value=60))
def test_split_to_fit_keeps_every_word(text: str, limit: int) -> None:
    pieces = split_to_fit(text, limit)
    assert all(len(piece) <= limit for piece in pieces)
    assert "".join(" ".join(pieces).split()) == "".join(text.split())
