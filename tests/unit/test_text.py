"""Query and text processing: cleaning, keywords, safe FTS queries, intent, sentences."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from medkb.search.intent import INTENT_QTYPES, INTENTS, detect_intent
from medkb.search.sentences import split_sentences
from medkb.search.text import (
    fts5_query,
    keywords,
    normalise_query,
    tsquery,
)

# --- normalise_query --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Hi, I have a headache. What causes it?", "I have a headache. What causes it?"),
        ("Hello doctor, is flu contagious?", "is flu contagious?"),
        ("Hello Dr. Smith, is flu contagious?", "is flu contagious?"),
        ("Dear Sir/Madam, What is glaucoma?", "What is glaucoma?"),
        ("Hi Doctor I am 45 and diabetic.", "I am 45 and diabetic."),
        ("Good morning doctor. Hi, is diabetes hereditary?", "is diabetes hereditary?"),
        ("What is asthma? Thanks in advance", "What is asthma?"),
        ("What is asthma?\n\nRegards,\nJohn Smith", "What is asthma?"),
        ("What is asthma? Thank you doctor", "What is asthma?"),
        ("What is asthma? Please help. Thanks", "What is asthma?"),
        ("Is it serious? Waiting for your reply.", "Is it serious?"),
        ("What is   asthma\n\n and   why?", "What is asthma and why?"),
    ],
)
def test_strips_greetings_and_signoffs(message: str, expected: str) -> None:
    assert normalise_query(message) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Call me at +1 (555) 123-4567. Is it flu?", "Is it flu?"),
        ("Is it flu? mail me: jane.doe@example.com", "Is it flu?"),
        ("See https://example.org/a?b=1 about lupus", "about lupus"),
        ("is www.example.com right about lupus", "is right about lupus"),
        ("my number is 5551234567 and I have a rash", "my number is and I have a rash"),
    ],
)
def test_removes_contact_noise(message: str, expected: str) -> None:
    assert normalise_query(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "BP 120/80 and 150 90 since 2020-01-15, HbA1c 6.5%",
        "I take 500 mg twice a day for 10 days",
        "Thanks to the medication my pain is better. Is nausea normal?",
        "What foods help",
        "Hi-tech treatments for acne",
    ],
)
def test_keeps_medical_content(message: str) -> None:
    assert normalise_query(message) == message


@pytest.mark.parametrize("message", ["Hi", "Thanks!", "Hello doctor, thanks", "Regards, John"])
def test_falls_back_to_original_when_only_pleasantries(message: str) -> None:
    assert normalise_query(message) == message


def test_no_words_gives_collapsed_input() -> None:
    assert normalise_query("  ?!  ") == "?!"
    assert normalise_query("") == ""


@given(st.text())
@example("Hi,\x00 thanks")
@example("a@b.co +44 20 7946 0958 http://x.y")
def test_never_empty_when_input_has_words(text: str) -> None:
    result = normalise_query(text)
    if re.search(r"\w", text):
        assert re.search(r"\w", result)
    assert result == result.strip()
    assert "  " not in result
    assert "\x00" not in result


@given(st.text(alphabet=st.sampled_from("Hi hello thanks doctor, .?!:@+0123456789abcXYZ\n")))
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise_query(text)
    assert normalise_query(once) == once


# --- keywords ---------------------------------------------------------------------------


def test_keywords_drop_stopwords_and_filler() -> None:
    text = "Hello, can you please tell me what are the symptoms of Type-2 diabetes?"
    assert keywords(text) == ["symptoms", "type-2", "diabetes"]


def test_keywords_keep_digits_hyphens_and_single_letters() -> None:
    assert keywords("COVID-19 and vitamin D, B12 at 500 mg") == [
        "covid-19",
        "vitamin",
        "d",
        "b12",
        "500",
        "mg",
    ]


def test_keywords_deduplicate_in_order_and_drop_possessive() -> None:
    assert keywords("Parkinson's disease: is Parkinson’s disease inherited?") == [
        "parkinson",
        "disease",
        "inherited",
    ]


def test_keywords_keep_medical_words_that_look_like_stopwords() -> None:
    assert keywords("What is Down syndrome? Is AIDS over-the-counter?") == [
        "down",
        "syndrome",
        "aids",
        "over-the-counter",
    ]


def test_keywords_stemming_is_optional_and_light() -> None:
    text = "infections therapies causes diabetes viruses glasses measles"
    assert keywords(text) == text.split()
    assert keywords(text, stem=True) == [
        "infection",
        "therapy",
        "cause",
        "diabetes",
        "virus",
        "glass",
        "measles",
    ]


def test_keywords_stemming_merges_plural_with_singular() -> None:
    assert keywords("cause of the causes", stem=True) == ["cause"]


@given(st.text())
def test_keywords_are_lowercase_unique_words(text: str) -> None:
    words = keywords(text)
    assert len(words) == len(set(words))
    for word in words:
        assert word == word.lower()
        assert re.fullmatch(r"[^\W_]+(?:['-][^\W_]+)*", word)
        assert word not in {"what", "how", "can", "does", "please", "know", "tell", "the"}


# --- fts5_query / tsquery ---------------------------------------------------------------


def test_fts5_query_quotes_and_ors() -> None:
    assert fts5_query(["asthma", 'say "hi"', "NEAR", "x*", "---", "asthma"]) == (
        '"asthma" OR "say ""hi""" OR "NEAR" OR "x*"'
    )


def test_tsquery_quotes_and_ors() -> None:
    assert tsquery(["it's", "a\\b", "&", "!x", "x:*"]) == "'it''s' | 'a\\\\b' | '!x' | 'x:*'"


def test_builders_empty_when_no_terms() -> None:
    assert fts5_query([]) == ""
    assert fts5_query(["", "...", "_"]) == ""
    assert tsquery(["(", ")"]) == ""


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='porter unicode61')")
    conn.executemany(
        "INSERT INTO docs(body) VALUES (?)",
        [("asthma attacks and inhalers",), ("NEAR the OR AND NOT x*",), ("flu",)],
    )
    yield conn
    conn.close()


@given(st.lists(st.text(), max_size=6))
@example(['"', "OR", "NOT", "NEAR(", "body:", "*", "^x", "a AND b", "x\x00y"])
def test_fts5_query_never_breaks_sqlite(fts: sqlite3.Connection, words: list[str]) -> None:
    query = fts5_query(words)
    if query:
        fts.execute("SELECT rowid FROM docs WHERE docs MATCH ?", (query,)).fetchall()


def test_fts5_query_matches_terms_literally(fts: sqlite3.Connection) -> None:
    rows = fts.execute("SELECT body FROM docs WHERE docs MATCH ?", (fts5_query(["NOT"]),))
    assert [row[0] for row in rows] == ["NEAR the OR AND NOT x*"]
    rows = fts.execute(
        "SELECT body FROM docs WHERE docs MATCH ?", (fts5_query(["flu", "inhaler"]),)
    )
    assert sorted(row[0] for row in rows) == ["asthma attacks and inhalers", "flu"]


@given(st.lists(st.text(), max_size=6))
def test_tsquery_terms_are_balanced_quoted_strings(words: list[str]) -> None:
    query = tsquery(words)
    if not query:
        return
    term = r"'(?:[^'\\]|''|\\\\)*'"
    assert re.fullmatch(rf"{term}(?: \| {term})*", query)


# --- detect_intent ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("What is (are) Glaucoma ?", "information"),
        ("What are the symptoms of Glaucoma ?", "symptoms"),
        ("What are the signs and symptoms of Lupus ?", "symptoms"),
        ("What are the treatments for Glaucoma ?", "treatment"),
        ("How is asthma treated?", "treatment"),
        ("Is there a cure for psoriasis?", "treatment"),
        ("What causes Glaucoma ?", "causes"),
        ("Why do I get migraines?", "causes"),
        ("How to prevent Glaucoma ?", "prevention"),
        ("How to diagnose Glaucoma ?", "diagnosis"),
        ("What tests are used for anemia?", "diagnosis"),
        ("What is the outlook for Glaucoma ?", "outlook"),
        ("What is the prognosis of ALS?", "outlook"),
        ("Who is at risk for Glaucoma? ?", "susceptibility"),
        ("What are the risk factors for stroke?", "susceptibility"),
        ("What are the complications of diabetes?", "complications"),
        ("What research (or clinical trials) is being done for Glaucoma ?", "research"),
        ("Is Huntington disease inherited ?", "inheritance"),
        ("How many people are affected by cystic fibrosis ?", "frequency"),
        ("How many people can get cystic fibrosis?", "frequency"),
        ("How many tablets should I take?", "dosage"),
        ("What are the genetic changes related to cystic fibrosis ?", "genetics"),
        ("What are the stages of Breast Cancer ?", "stages"),
        ("What are the side effects of ibuprofen?", "side_effects"),
        ("WHAT CAUSES the SYMPTOMS of flu?", "causes"),
        ("What are the symptoms caused by flu?", "symptoms"),
        ("My knee hurts. I had surgery last year. What is arthritis?", "information"),
        ("I feel tired all the time", None),
        ("", None),
    ],
)
def test_detect_intent(question: str, intent: str | None) -> None:
    assert detect_intent(question) == intent


def test_intents_map_to_medquad_qtypes() -> None:
    assert INTENT_QTYPES["diagnosis"] == ("exams and tests",)
    assert set(INTENTS) == set(INTENT_QTYPES)


@given(st.text(alphabet=st.characters(max_codepoint=127)))
@example("what are the SIDE EFFECTS of aspirin?")
def test_detect_intent_is_case_insensitive_and_closed(text: str) -> None:
    intent = detect_intent(text)
    assert intent is None or intent in INTENTS
    assert detect_intent(text.upper()) == intent
    assert detect_intent(text.lower()) == intent


# --- split_sentences --------------------------------------------------------------------


def test_split_plain_sentences() -> None:
    text = "Glaucoma damages the optic nerve. It can cause blindness! Is it common? Yes."
    assert split_sentences(text) == [
        "Glaucoma damages the optic nerve.",
        "It can cause blindness!",
        "Is it common?",
        "Yes.",
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "Ask Dr. Smith about it.",
        "Compare drug A vs. drug B first.",
        "Some drugs, e.g. aspirin, thin the blood.",
        "Some drugs, i.e. NSAIDs, irritate the stomach.",
        "It is approved in the U.S. by the FDA.",
        "See the U.S. Food and Drug Administration site.",
        "Take 5 mg. twice daily with food.",
        "Smith et al. reported it first.",
        "I was tired... then I slept.",
        "Levels above 2.5 mmol/L are high.",
    ],
)
def test_abbreviations_do_not_split(sentence: str) -> None:
    assert split_sentences(f"{sentence} Next one.") == [sentence, "Next one."]


def test_units_end_a_sentence_before_a_capital() -> None:
    assert split_sentences("The dose is 5 mg. Take it with food.") == [
        "The dose is 5 mg.",
        "Take it with food.",
    ]


def test_bullets_and_numbered_lists() -> None:
    text = "Symptoms include:\n- blurred vision\n* eye pain.\n• redness\n1. See a doctor.\n2) Rest"
    assert split_sentences(text) == [
        "Symptoms include:",
        "blurred vision",
        "eye pain.",
        "redness",
        "See a doctor.",
        "Rest",
    ]


def test_inline_bullets_and_headings() -> None:
    text = "Risk factors\nRisks include: • age • family history"
    assert split_sentences(text) == ["Risk factors", "Risks include:", "age", "family history"]


def test_soft_wrapped_long_lines_are_joined() -> None:
    text = (
        "Glaucoma is a group of diseases that can damage the eye's optic\n"
        "nerve and result in vision loss. Early treatment helps."
    )
    first, second = split_sentences(text)
    assert first.startswith("Glaucoma") and first.endswith("vision loss.")
    assert second == "Early treatment helps."


def test_dashes_in_prose_are_not_bullets() -> None:
    text = "The disease – which is rare – affects children. It is treatable."
    assert split_sentences(text) == [
        "The disease – which is rare – affects children.",
        "It is treatable.",
    ]


LETTERS = re.compile(r"[^\W\d_]")


@given(st.text())
@example("a. b\n- c • d\n\n1) e... F")
@example("Dr. X. vs. y! e.g. Z? U.S. mg. W")
def test_sentences_are_ordered_substrings_keeping_every_letter(text: str) -> None:
    sentences = split_sentences(text)
    position = 0
    for sentence in sentences:
        assert sentence == sentence.strip() and sentence
        found = text.find(sentence, position)
        assert found >= 0
        position = found + len(sentence)
    assert LETTERS.findall("".join(sentences)) == LETTERS.findall(text)
