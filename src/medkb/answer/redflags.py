"""Red flags: does a query describe a medical emergency happening now?

Pure and rule-based, so it is predictable, fast and testable, and it runs before (and
whatever) retrieval finds. The cues live in :mod:`medkb.answer.redflag_cues`. A query is
flagged when one category's score reaches 1:

1. The text is normalised: lowercase, straight apostrophes, frequent typos and dropped
   apostrophes fixed ("cant breath", "siezure", "im").
2. Every cue match is checked in its clause (text between ``.,;!?`` / "and" / "but"):
   it is dropped when negated just before ("no chest pain", "without swelling"), when the
   clause places it in the past ("had a stroke 5 years ago", "last year", "as a
   teenager"), or when it is hypothetical ("what should I do if someone has a seizure").
3. A question that reads as general information — it starts like one ("what are",
   "how to") or says so ("signs of", "prevent", "maximum dose", "first aid course") — and
   says nothing about the asker or someone they know (no "I", "my", "we") keeps only the
   ``always`` cues (explicit suicidal intent and method seeking).
4. Each surviving cue adds its weights; a category touched by a cue gains 0.5 more when
   the query carries an urgency marker ("right now", "suddenly", "an hour ago", "what do I
   do", "help"). A third person ("my dad is clutching his chest") counts like the first:
   the asker is the one who can call for help.

The category with the highest score (ties: the more urgent one) is reported with the cue
that weighed most.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from medkb.answer import redflag_cues as cues

_TYPOS = {
    "cant": "can't",
    "cannot": "can't",
    "dont": "don't",
    "wont": "won't",
    "isnt": "isn't",
    "doesnt": "doesn't",
    "hasnt": "hasn't",
    "havent": "haven't",
    "didnt": "didn't",
    "im": "i'm",
    "ive": "i've",
    "pian": "pain",
    "siezure": "seizure",
    "seizuer": "seizure",
    "speach": "speech",
    "unconcious": "unconscious",
    "breth": "breath",
    "stomache": "stomach",
}
_WORD = re.compile(r"[a-z']+")
_CLAUSE_BREAK = re.compile(r"[.,;:!?\n()]+|\s-\s|\b(?:and|but|so|then|though)\b")
_NEGATION_WINDOW = 4  # words before a cue that can negate it


@dataclass(frozen=True)
class RedFlag:
    """An emergency detected in a query: its category and the words that showed it."""

    category: str
    cue: str
    score: float

    def to_dict(self) -> dict[str, object]:
        return {"category": self.category, "cue": self.cue, "score": round(self.score, 2)}


def normalise(text: str) -> str:
    """Lowercase, straighten apostrophes, fix the typos in the detector's word list."""
    text = text.lower().replace("’", "'").replace("‘", "'")
    text = _WORD.sub(lambda m: _TYPOS.get(m.group(0), m.group(0)), text)
    return " ".join(text.split())


def detect(text: str) -> RedFlag | None:
    """Return the emergency ``text`` describes, or ``None``.

    Args:
        text: The user's raw message (greetings and all).

    Returns:
        The category, the matched cue and the category's score; ``None`` when no category
        reaches 1.
    """
    norm = normalise(text)
    informational = _is_informational(norm)
    found = list(_live_matches(norm, informational=informational))
    scores, best_cue = _score(found, urgent=bool(cues.URGENCY.search(norm)) and not informational)
    flagged = [c for c in cues.CATEGORIES if scores.get(c, 0.0) >= 1.0]
    if not flagged:
        return None
    category = max(flagged, key=lambda c: (scores[c], -cues.CATEGORIES.index(c)))
    return RedFlag(category=category, cue=best_cue[category], score=scores[category])


def _is_informational(norm: str) -> bool:
    """A general question that says nothing about the asker or someone they know."""
    general = bool(cues.QUESTION_START.search(norm) or cues.INFORMATIONAL.search(norm))
    return general and not cues.PERSONAL.search(norm)


def _live_matches(norm: str, *, informational: bool) -> Iterator[tuple[cues.Cue, str]]:
    """Every cue match that is not negated, past, hypothetical or merely informational."""
    clauses = _clauses(norm)
    for cue in cues.CUES:
        if informational and not cue.always:
            continue
        for match in cue.pattern.finditer(norm):
            start, end = _clause_of(clauses, match.start())
            if cue.context or not _suppressed(norm, start, end, match):
                yield cue, match.group(0).strip()
                break


def _clauses(norm: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the clauses of ``norm``."""
    bounds, last = [], 0
    for brk in _CLAUSE_BREAK.finditer(norm):
        bounds.append((last, brk.start()))
        last = brk.end()
    bounds.append((last, len(norm)))
    return bounds


def _clause_of(clauses: list[tuple[int, int]], offset: int) -> tuple[int, int]:
    for start, end in clauses:
        if start <= offset < end or offset < start:
            return start, end
    return clauses[-1]


def _suppressed(norm: str, start: int, end: int, match: re.Match[str]) -> bool:
    """Whether the clause negates, dates or hypothesises the matched cue."""
    before = norm[start : match.start()]
    clause = norm[start:end]
    lead = " ".join(before.split()[-_NEGATION_WINDOW:])
    return bool(
        cues.NEGATION.search(lead)
        or cues.PAST.search(clause)
        or cues.PAST_LEAD.search(before)
        or cues.CONDITIONAL.search(before)
    )


def _score(
    found: list[tuple[cues.Cue, str]], *, urgent: bool
) -> tuple[dict[str, float], dict[str, str]]:
    """Per-category scores and the heaviest cue of each category."""
    scores: dict[str, float] = {}
    best: dict[str, tuple[float, str]] = {}
    contexts = {c for cue, _ in found if cue.context for c in cue.weights}
    for cue, text in found:
        for category, weight in cue.weights.items():
            if category in cues.NEEDS_CONTEXT and category not in contexts:
                continue
            scores[category] = scores.get(category, 0.0) + weight
            if not cue.context and weight > best.get(category, (0.0, ""))[0]:
                best[category] = (weight, text)
    for category in list(scores):
        if category not in best:  # only context cues: nothing happened yet
            del scores[category]
        elif urgent:
            scores[category] += 0.5
    return scores, {category: text for category, (_, text) in best.items()}
