"""Question intent: which MedQuAD question type a question asks (symptoms, treatment, …)."""

from __future__ import annotations

import re

from medkb.search.sentences import split_sentences

#: Intent → MedQuAD question types (``qtype``) it stands for.
INTENT_QTYPES: dict[str, tuple[str, ...]] = {
    "research": ("research",),
    "side_effects": ("side effects",),
    "dosage": ("dosage",),
    "complications": ("complications",),
    "genetics": ("genetic changes",),
    "inheritance": ("inheritance",),
    "frequency": ("frequency",),
    "stages": ("stages",),
    "support": ("support groups",),
    "outlook": ("outlook",),
    "susceptibility": ("susceptibility",),
    "prevention": ("prevention",),
    "diagnosis": ("exams and tests",),
    "treatment": ("treatment",),
    "causes": ("causes",),
    "symptoms": ("symptoms",),
    "information": ("information",),
}
INTENTS: tuple[str, ...] = tuple(INTENT_QTYPES)

_I = "(?i)"
#: Specific intents, most specific first: on a tie in position the earlier one wins.
_INTENT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(_I + pattern))
    for name, pattern in (
        ("research", r"\bresearch|\bclinical\s+trials?\b|\bbeing\s+(?:done|studied)\b"),
        ("side_effects", r"\bside[\s-]+effects?\b|\badverse\s+(?:effects?|reactions?)\b"),
        (
            "frequency",
            r"\bhow\s+(?:common|rare|prevalent|many\s+people)\b|\bprevalence\b"
            r"|\bincidence\b",
        ),
        ("dosage", r"\bdos(?:e|es|age|ing)\b|\bhow\s+(?:much|many)\s+\w+\s+(?:should|can)\s"),
        ("complications", r"\bcomplications?\b|\blong[\s-]+term\s+effects?\b"),
        ("genetics", r"\bgenetic\s+(?:changes?|mutations?|basis|causes?)\b|\bgenes?\b"),
        ("inheritance", r"\binherit\w*|\bhereditary\b|\bruns?\s+in\s+(?:the\s+)?famil"),
        ("stages", r"\bstages\b|\bstaging\b|\bwhat\s+stage\b"),
        ("support", r"\bsupport\s+groups?\b"),
        (
            "outlook",
            r"\boutlook\b|\bprognosis\b|\blife\s+expectancy\b|\bsurvival\b"
            r"|\bcurable\b|\bhow\s+long\s+(?:\w+\s+){0,4}(?:live|survive|last)\b",
        ),
        (
            "susceptibility",
            r"\bat\s+(?:high\s+|higher\s+|greater\s+)?risk\b"
            r"|\brisk\s+factors?\b|\bsusceptib\w*|\bmore\s+likely\s+to\s+(?:get|develop)\b"
            r"|\bwho\s+(?:gets|can\s+get|is\s+affected)\b",
        ),
        (
            "prevention",
            r"\bprevent\w*|\bavoid\s+(?:getting|catching)\b|\bvaccin\w*"
            r"|\breduce\s+(?:the|my|your)\s+risk\b|\bprotect\s+(?:myself|yourself|against)\b",
        ),
        (
            "diagnosis",
            r"\bdiagnos\w*|\btests?\b|\btesting\b|\bexams?\b|\bexamination\b"
            r"|\bscreen(?:ing)?\b|\bbiopsy\b|\bdetect\w*",
        ),
        (
            "treatment",
            r"\btreat\w*|\btherap\w*|\bcur(?:e|es|ed|ing)\b|\bremed(?:y|ies)\b"
            r"|\bmedications?\b|\bmedicines?\b|\bmanag(?:e|ed|ing|ement)\b|\bsurgery\b"
            r"|\bget\s+rid\s+of\b|\bwhat\s+(?:should|can)\s+i\s+(?:do|take)\b"
            r"|\bwhat\s+to\s+do\b|\brelie(?:f|ve)\b",
        ),
        (
            "causes",
            r"\bcaus(?:e|es|ed|ing)\b|\bwhy\s+(?:do|does|did|am|is|are)\b"
            r"|\breasons?\s+(?:for|why)\b|\btrigger\w*|\betiology\b",
        ),
        (
            "symptoms",
            r"\bsymptom\w*|\bsigns?\s+(?:of|and)\b|\bwarning\s+signs?\b"
            r"|\bwhat\s+does\s+(?:\w+\s+){0,4}feel\s+like\b",
        ),
    )
)
_INFORMATION = re.compile(
    _I + r"\bwhat\s+(?:is|are)\b|\bwhat's\b|\btell\s+me\s+about\b|\bdefin(?:e|ition)\b"
    r"|\bmeaning\s+of\b|\bwhat\s+does\s+(?:\w+\s+){1,4}mean\b|\boverview\b"
    r"|\binformation\s+(?:about|on)\b|\bwhat\s+do\s+you\s+know\s+about\b"
)


def detect_intent(text: str) -> str | None:
    """Guess the MedQuAD question type of a question (case-insensitive keyword rules).

    Question sentences (those ending in "?") are read first, then the whole text. Within
    the first part that matches, the intent whose cue appears earliest wins ("What causes
    the symptoms of ...?" → ``"causes"``); "what is X" questions with no more specific
    cue are ``"information"``.

    Args:
        text: A question or message.

    Returns:
        One of :data:`INTENTS` (see :data:`INTENT_QTYPES` for the MedQuAD labels), or
        ``None`` when no cue is found.
    """
    questions = [s for s in split_sentences(text) if s.rstrip("\"')]").endswith("?")]
    for part in [*questions, text]:
        intent = _earliest_intent(part)
        if intent is not None:
            return intent
    return None


def _earliest_intent(text: str) -> str | None:
    """The specific intent whose cue starts first; else "information"; else None."""
    best: tuple[int, int, str] | None = None
    for priority, (name, pattern) in enumerate(_INTENT_PATTERNS):
        match = pattern.search(text)
        if match is not None and (best is None or (match.start(), priority) < best[:2]):
            best = (match.start(), priority, name)
    if best is not None:
        return best[2]
    return "information" if _INFORMATION.search(text) else None
