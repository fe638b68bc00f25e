"""Metadata extraction for ingested pairs: category guessing and document metadata. Pure.

The category of a pair from a free document (or a MedQuAD record) is guessed from a small
keyword table: each category scores one point per keyword occurrence in the pair's text
and three per occurrence in its title (document title or MedQuAD focus); the best score
wins, ties going to the category listed first, and no match at all gives ``"General"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from medkb.models import QAMetadata

GENERAL = "General"
TITLE_WEIGHT = 3

#: Category → keywords (lower case; a trailing "s" plural is matched too).
CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "Cardiology": (
        "heart", "cardiac", "cardiovascular", "blood pressure", "hypertension", "heart attack",
        "myocardial infarction", "cholesterol", "artery", "arteries", "atrial fibrillation",
        "arrhythmia", "angina", "heart failure", "coronary", "palpitation",
    ),
    "Endocrinology": (
        "diabetes", "diabetic", "insulin", "blood sugar", "blood glucose", "glucose",
        "thyroid", "hormone", "hormonal", "pituitary", "adrenal", "a1c", "hba1c",
        "hypoglycemia", "hyperglycemia", "acromegaly", "endocrine", "prediabetes",
    ),
    "Infectious disease": (
        "infection", "infectious", "virus", "viral", "bacteria", "bacterial", "influenza",
        "flu", "vaccine", "vaccination", "immunization", "antibiotic", "antiviral", "covid",
        "hepatitis", "hiv", "tuberculosis", "measles", "parasite", "parasitic", "fungal",
        "contagious", "outbreak", "germ",
    ),
    "Oncology": (
        "cancer", "tumor", "tumour", "oncology", "chemotherapy", "malignant", "carcinoma",
        "lymphoma", "leukemia", "metastatic", "radiation therapy",
    ),
    "Neurology": (
        "stroke", "migraine", "headache", "seizure", "epilepsy", "brain", "nerve",
        "neurological", "dementia", "alzheimer", "parkinson", "multiple sclerosis",
        "concussion", "neuropathy", "aura",
    ),
    "Respiratory": (
        "asthma", "lung", "copd", "breathing", "inhaler", "bronchitis", "respiratory",
        "wheezing", "wheeze", "airway", "pneumonia", "shortness of breath",
    ),
    "Gastroenterology": (
        "stomach", "bowel", "colon", "liver", "digestive", "digestion", "gut", "intestine",
        "intestinal", "heartburn", "reflux", "gerd", "constipation", "diarrhea", "celiac",
        "crohn", "pancreas", "pancreatitis", "gallbladder", "gallstone",
    ),
    "Mental health": (
        "depression", "depressive", "anxiety", "mental health", "mood", "bipolar",
        "schizophrenia", "suicide", "suicidal", "ptsd", "psychotherapy", "antidepressant",
        "panic", "therapist",
    ),
    "Pediatrics": (
        "child", "children", "infant", "baby", "babies", "newborn", "toddler", "pediatric",
        "paediatric", "adolescent", "teen", "teenager",
    ),
    "Nutrition": (
        "nutrition", "diet", "dietary", "food", "eating", "vitamin", "fiber", "fibre",
        "protein", "calorie", "salt", "sodium", "fruit", "vegetable", "whole grain",
        "added sugar", "meal",
    ),
}  # fmt: skip

_PATTERNS: dict[str, re.Pattern[str]] = {
    category: re.compile(
        r"\b(?:" + "|".join(re.escape(word) for word in words) + r")s?\b", re.IGNORECASE
    )
    for category, words in CATEGORY_KEYWORDS.items()
}


@dataclass
class DocInfo:
    """What a document says about itself (title, author, …); empty where it says nothing."""

    title: str | None = None
    author: str | None = None
    source: str | None = None
    published: str | None = None
    language: str | None = None
    category: str | None = None
    url: str | None = None
    tags: list[str] = field(default_factory=list)


def category_scores(text: str, *, title: str = "") -> dict[str, int]:
    """Keyword score per category (only categories that score above zero)."""
    scores = {
        category: len(pattern.findall(text)) + TITLE_WEIGHT * len(pattern.findall(title))
        for category, pattern in _PATTERNS.items()
    }
    return {category: score for category, score in scores.items() if score}


def guess_category(text: str, *, title: str = "") -> str:
    """The best-scoring category for ``text`` (see the module docstring), or ``"General"``.

    Example: ``guess_category("Inhaled steroids control asthma.")`` is ``"Respiratory"``.
    """
    scores = category_scores(text, title=title)
    return max(scores, key=lambda category: scores[category]) if scores else GENERAL


def document_metadata(
    info: DocInfo, *, text: str, title: str, source_type: str, default_source: str
) -> QAMetadata:
    """Metadata of one pair from a free document.

    Args:
        info: what the document declares; declared values win over guesses.
        text: the pair's question and response, for the category guess.
        title: the document title (weighs more in the category guess).
        source_type: the document format, e.g. ``"pdf"``.
        default_source: the source when the document names none (its file name stem).
    """
    return QAMetadata(
        category=info.category or guess_category(text, title=title),
        source=info.source or default_source,
        source_type=source_type,
        author=info.author,
        published=info.published,
        language=info.language or "en",
        tags=list(info.tags),
        extra={"document_title": title},
    )
