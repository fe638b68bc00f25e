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
from medkb.answer import redflag_cues_more

#: Every cue, the first list's and the triage step's.
ALL_CUES: tuple[cues.Cue, ...] = (*cues.CUES, *redflag_cues_more.CUES)

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
_SHORT_WORDS = 4  # a match this short is one phrase: a cue inside it is the same evidence
_FILLERS = re.compile(
    r"\b(?:are|is|was|were|been|being|really|very|so|quite|a bit|a little|just|totally|extremely"
    r"|super|pretty|kind of|sort of|all of a sudden|literally|honestly|basically)\b"
)


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


@dataclass(frozen=True)
class RuleScores:
    """What the cues say about a normalised message, per category."""

    scores: dict[str, float]
    #: The matched cue texts per category with their weights, heaviest first.
    cues: dict[str, list[tuple[str, float]]]
    informational: bool
    urgent: bool


def detect(text: str) -> RedFlag | None:
    """Return the emergency ``text`` describes by the cues alone, or ``None``.

    Args:
        text: The user's raw message (greetings and all).

    Returns:
        The category, the matched cue and the category's score; ``None`` when no category
        reaches 1. :mod:`medkb.answer.triage` adds numbers and the semantic match.
    """
    found = rule_scores(normalise(text))
    flagged = [c for c in cues.CATEGORIES if found.scores.get(c, 0.0) >= 1.0]
    if not flagged:
        return None
    category = max(flagged, key=lambda c: (found.scores[c], -cues.CATEGORIES.index(c)))
    cue = found.cues[category][0][0]
    return RedFlag(category=category, cue=cue, score=found.scores[category])


def rule_scores(norm: str) -> RuleScores:
    """Per-category cue scores of the normalised message ``norm``.

    The cues are matched twice: on ``norm`` and on :func:`compact` ``norm`` (fillers such as
    "are", "really", "a bit" removed, so "nostrils are flaring" meets "nostrils flaring");
    each category keeps the better of the two passes. The second pass runs only when the
    first flagged nothing.
    """
    first = _one_pass(norm)
    shorter = compact(norm)
    if shorter == norm or any(score >= 1.0 for score in first.scores.values()):
        return first  # nothing to gain: the second pass only ever adds
    second = _one_pass(shorter)
    for category, score in second.scores.items():
        if score > first.scores.get(category, 0.0):
            first.scores[category] = score
            first.cues[category] = second.cues[category]
    return first


def compact(norm: str) -> str:
    """``norm`` without filler words (auxiliaries, intensifiers, hedges)."""
    return " ".join(_FILLERS.sub(" ", norm).split())


def _one_pass(norm: str) -> RuleScores:
    informational = is_informational(norm)
    found = list(_live_matches(norm, informational=informational))
    urgent = bool(cues.URGENCY.search(norm)) and not informational and not cues.CHRONIC.search(norm)
    scores, matched = _score(found, urgent=urgent)
    return RuleScores(scores, matched, informational, urgent)


def is_informational(norm: str) -> bool:
    """A general question that says nothing about the asker or someone they know."""
    general = bool(cues.QUESTION_START.search(norm) or cues.INFORMATIONAL.search(norm))
    return general and not cues.PERSONAL.search(norm)


def _live_matches(norm: str, *, informational: bool) -> Iterator[tuple[cues.Cue, re.Match[str]]]:
    """Every cue match that is not negated, past, hypothetical or merely informational."""
    clauses = _clauses(norm)
    for cue in ALL_CUES:
        if informational and not cue.always:
            continue
        for match in cue.pattern.finditer(norm):
            start, end = _clause_of(clauses, match.start())
            if cue.context or not _suppressed(norm, start, end, match):
                yield cue, match
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


def suppressed_at(norm: str, offset: int) -> bool:
    """Whether the clause around ``offset`` negates, dates or hypothesises what is there."""
    start, end = _clause_of(_clauses(norm), offset)
    return _suppressed_span(norm, start, end, offset)


def _suppressed(norm: str, start: int, end: int, match: re.Match[str]) -> bool:
    """Whether the clause negates, dates or hypothesises the matched cue."""
    return _suppressed_span(norm, start, end, match.start())


def _suppressed_span(norm: str, start: int, end: int, offset: int) -> bool:
    before = norm[start:offset]
    clause = norm[start:end]
    lead = " ".join(before.split()[-_NEGATION_WINDOW:])
    return bool(
        cues.NEGATION.search(lead)
        or cues.PAST.search(clause)
        or cues.PAST_LEAD.search(before)
        or cues.CONDITIONAL.search(before)
    )


def _score(
    found: list[tuple[cues.Cue, re.Match[str]]], *, urgent: bool
) -> tuple[dict[str, float], dict[str, list[tuple[str, float]]]]:
    """Per-category scores and the cues of each category, heaviest first.

    Two cues of one category matching the very same words count once, with the larger
    weight. (Nested matches, "faint" in "feel faint", both count: on the held-out sets,
    counting them once lost more emergencies than it saved false alarms.)
    """
    scores: dict[str, float] = {}
    kept: dict[str, list[tuple[int, int, str, float]]] = {}
    contexts = {c for cue, _ in found if cue.context for c in cue.weights}
    for cue, match in found:
        for category, weight in cue.weights.items():
            if category in cues.NEEDS_CONTEXT and category not in contexts:
                continue
            if cue.context:
                scores[category] = scores.get(category, 0.0) + weight
                continue
            _keep(kept.setdefault(category, []), match, weight)
    matched: dict[str, list[tuple[str, float]]] = {}
    for category, spans in kept.items():
        scores[category] = scores.get(category, 0.0) + sum(w for *_, w in spans)
        matched[category] = sorted(((text, w) for _, _, text, w in spans), key=lambda i: -i[1])
    for category in list(scores):
        if category not in matched:  # only context cues: nothing happened yet
            del scores[category]
        elif urgent:
            scores[category] += 0.5
    return scores, matched


def _keep(spans: list[tuple[int, int, str, float]], match: re.Match[str], weight: float) -> None:
    """Add ``match`` to ``spans`` unless a kept match covers the very same words."""
    start, end = match.span()
    for index, (other_start, other_end, text, other_weight) in enumerate(spans):
        outer = max(text, match.group(0), key=len)
        if (other_start, other_end) == (start, end) and len(outer.split()) <= _SHORT_WORDS:
            if weight > other_weight:
                spans[index] = (start, end, match.group(0).strip(), weight)
            return
    spans.append((start, end, match.group(0).strip(), weight))
