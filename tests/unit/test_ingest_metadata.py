"""Pair ids (medkb.ingest.ids) and metadata extraction (medkb.ingest.metadata)."""

from __future__ import annotations

import re

import pytest

from medkb.ingest.ids import make_id
from medkb.ingest.metadata import (
    CATEGORY_KEYWORDS,
    GENERAL,
    DocInfo,
    document_metadata,
    guess_category,
)


def test_make_id_is_stable_and_shaped() -> None:
    first = make_id("faq.pdf", "What is asthma?")
    assert first == make_id("faq.pdf", "What is asthma?")
    assert re.fullmatch(r"qa-[0-9a-f]{16}", first)


def test_make_id_changes_with_any_part_and_with_the_split() -> None:
    base = make_id("faq.pdf", "What is asthma?")
    assert make_id("faq.pdf", "What is asthma ?") != base
    assert make_id("other.pdf", "What is asthma?") != base
    assert make_id("ab", "c") != make_id("a", "bc")


def test_make_id_needs_parts() -> None:
    with pytest.raises(ValueError):
        make_id()


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("High blood pressure raises the risk of a heart attack.", "Cardiology"),
        ("Check your blood sugar and take insulin as prescribed.", "Endocrinology"),
        ("The flu vaccine protects against influenza viruses.", "Infectious disease"),
        ("Chemotherapy treats many kinds of cancer.", "Oncology"),
        ("A migraine is more than a headache.", "Neurology"),
        ("Asthma narrows the airways; use your inhaler.", "Respiratory"),
        ("Heartburn is caused by acid reflux from the stomach.", "Gastroenterology"),
        ("Depression and anxiety are treatable.", "Mental health"),
        ("Newborn babies and toddlers need regular check-ups.", "Pediatrics"),
        ("Eat more fiber, fruit and vegetables and less salt.", "Nutrition"),
        ("Wear sunscreen and sleep well.", GENERAL),
    ],
)
def test_guess_category(text: str, category: str) -> None:
    assert guess_category(text) == category


def test_title_outweighs_a_passing_mention() -> None:
    text = "Stress can make symptoms worse."
    assert guess_category(text, title="Asthma") == "Respiratory"
    assert guess_category("Eat less salt. Heart health matters.", title="Diet") == "Nutrition"


def test_keywords_match_whole_words_and_plurals() -> None:
    assert guess_category("Heartburn after meals") == "Gastroenterology"
    assert guess_category("Both lungs were clear") == "Respiratory"


def test_ties_go_to_the_first_listed_category() -> None:
    first, second = list(CATEGORY_KEYWORDS)[:2]
    text = f"{CATEGORY_KEYWORDS[second][0]} {CATEGORY_KEYWORDS[first][0]}"
    assert guess_category(text) == first


def test_document_metadata_prefers_what_the_document_declares() -> None:
    info = DocInfo(author="Dr A", source="Clinic", category="Oncology", tags=["x"], language="de")
    metadata = document_metadata(
        info, text="asthma", title="Guide", source_type="pdf", default_source="guide"
    )
    assert (metadata.category, metadata.source, metadata.author) == ("Oncology", "Clinic", "Dr A")
    assert (metadata.source_type, metadata.language, metadata.tags) == ("pdf", "de", ["x"])
    assert metadata.extra == {"document_title": "Guide"}


def test_document_metadata_defaults() -> None:
    metadata = document_metadata(
        DocInfo(), text="Use your inhaler.", title="Asthma", source_type="docx", default_source="f"
    )
    assert (metadata.category, metadata.source, metadata.language) == ("Respiratory", "f", "en")
