"""Triage: does a message describe an emergency happening now, which one, and why?

Three kinds of evidence are added up per category (a category is flagged at 1):

1. **Cues** (:mod:`medkb.answer.redflags`): explicit phrases with weights, dropped when
   negated, in the past or hypothetical, and all but explicit suicidal intent dropped in a
   general informational question.
2. **Numbers** (:mod:`medkb.answer.vitals` parses, :mod:`medkb.answer.thresholds`
   judges): glucose, heart rate, temperature (by the baby's age), blood pressure, oxygen
   saturation, tablets taken, minutes of a seizure. A number in a negated, past or
   hypothetical clause, or in a general question, does not count.
3. **Situations** (:mod:`medkb.answer.semantic`): the cosine between the message and the
   curated emergency situations of each category. A category already at 0.5 gains 0.5
   when its best situation is at least ``boost`` away; any category is flagged when its
   cosine reaches ``flag`` and beats the category's calm texts by ``margin``. Skipped for a
   message framed as a question, a hypothesis, history or a negation ("what are the signs
   of…", "what should I do if…", "had a stroke in 2019", "no chest pain") — the embedding
   sees the topic, not the framing. The thresholds are per embedder (``docs/safety.md``).

4. **The learned model** (:mod:`medkb.answer.learned`): a linear model over words and
   letter groups, trained on every labelled message, gives the probability that the
   message is an emergency and its likeliest category. At ``flag`` it adds 1.5 to that
   category (enough for a message that says it is over or mild); at ``boost`` it
   completes a category the cues half-scored. Both thresholds were chosen out of fold by
   ``bench/train_triage.py``. Texts of fewer than :data:`learned.MIN_WORDS` words are
   searches, not messages, and are not asked.

The winner is the flagged category with the highest score (ties: the more urgent); its
evidence is listed heaviest first. Nothing here calls a network or an LLM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from medkb.answer import learned, redflag_cues, redflags, semantic, thresholds, vitals
from medkb.embed.base import Embedder

CATEGORIES = redflag_cues.CATEGORIES
_FRAMED = re.compile(
    r"\bif\b|\bin case\b|\bin advance\b|\bwhat should i do\b|\bhow (?:to|do|can|long|often"
    r"|much)\b|\bsigns? of\b|\bsymptoms? of\b|\bprevent\w*|\bis (?:it|that|this) (?:normal|ok"
    r"|okay|safe|bad|fine)\b|^\W*(?:no|not|never|without)\b"
    r"|\b(?:do|does|should|can|could) (?:i|we|he|she|they) (?:still )?(?:need|take|use|have|eat"
    r"|drink|fly|drive|go back)\b|\b(?:under|well) control"
)
#: Any negation: the embedding cannot tell "fades" from "does not fade", so the semantic
#: step never flags on its own in such a message (it may still complete a cue).
_NEGATED = re.compile(r"\b(?:no|not|never|without|none)\b|n't\b")
#: The message says it is over or mild: a category then needs 1.5, not 1.
_RESOLVED = re.compile(
    r"\b(?:now|feels?|feeling|is|he's|she's|i'm|i feel|seems?|totally|otherwise) (?:fine|ok"
    r"|okay|better|normal)\b|\bwent back to playing\b|\b(?:is|are|was) playing\b|\beating "
    r"(?:and drinking )?(?:normally|fine)\b|\bno other symptoms\b|\bsettled\b"
    r"|\b(?:grazed|scraped|a scratch|small (?:cut|bump|lump|graze))\b"
    r"|\b(?:sometimes|occasionally)\b"
)
#: "was fine" says it is over ("ate a snack and was fine") unless a time of onset is next to
#: it: "he was fine at lunch", "2 hours ago she was fine" say when it started.
_WAS_FINE = re.compile(r"\bwas (?:fine|ok|okay|better|normal)\b")
_LAST_WELL = re.compile(
    r"\bago\b|\bat (?:lunch|breakfast|dinner|noon|midday|night|\d)|\bthis (?:morning|afternoon"
    r"|evening)\b|\bearlier\b|\buntil\b|\bon the way\b|\ban hour\b|\byesterday\b"
)
#: How far (characters) a time of onset may be from "was fine".
_LAST_WELL_REACH = 25
#: Suicide and self-harm win over any other flagged category: the crisis line must show.
_FIRST = "suicide"


@dataclass(frozen=True)
class Evidence:
    """One reason for a category: a cue, a number or the nearest situation."""

    kind: str  # cue | number | prototype | model
    text: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "weight": round(self.weight, 3)}


@dataclass(frozen=True)
class Triage:
    """The emergency a message describes."""

    category: str
    score: float
    evidence: tuple[Evidence, ...]

    @property
    def cue(self) -> str:
        """The heaviest evidence's text."""
        return self.evidence[0].text if self.evidence else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "score": round(self.score, 2),
            "cue": self.cue,
            "evidence": [item.to_dict() for item in self.evidence],
        }


@dataclass(frozen=True)
class SemanticMatch:
    """The semantic step's embedder and thresholds (see the module doc)."""

    encoder: Embedder
    flag: float
    boost: float
    margin: float


@dataclass
class Assessment:
    """Every category's score and evidence (what :func:`assess` decides from)."""

    scores: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)
    framed: bool = False
    resolved: bool = False

    def add(self, category: str, item: Evidence) -> None:
        self.scores[category] = self.scores.get(category, 0.0) + item.weight
        self.evidence.setdefault(category, []).append(item)

    def verdict(self) -> Triage | None:
        needed = 1.5 if self.resolved else 1.0
        flagged = [c for c in CATEGORIES if self.scores.get(c, 0.0) >= needed]
        if not flagged:
            return None
        best = max(flagged, key=lambda c: (c == _FIRST, self.scores[c], -CATEGORIES.index(c)))
        items = sorted(self.evidence[best], key=lambda item: -item.weight)
        return Triage(best, self.scores[best], tuple(items))


def assess(
    text: str,
    *,
    cleaned: str | None = None,
    match: SemanticMatch | None = None,
    vector: npt.NDArray[np.float32] | None = None,
    model: learned.Model | None = None,
) -> Triage | None:
    """Triage ``text``: the emergency it describes, or ``None``.

    Args:
        text: The user's raw message.
        cleaned: The message as the search step embedded it (greetings stripped), embedded
            for the semantic step when ``vector`` is not given; default ``text``.
        match: The semantic step; ``None`` runs cues and numbers only.
        vector: ``cleaned``'s unit vector from ``match.encoder``, when already computed.
        model: The learned model; ``None`` runs without it.
    """
    return weigh(text, cleaned=cleaned, match=match, vector=vector, model=model).verdict()


def weigh(
    text: str,
    *,
    cleaned: str | None = None,
    match: SemanticMatch | None = None,
    vector: npt.NDArray[np.float32] | None = None,
    model: learned.Model | None = None,
) -> Assessment:
    """Every category's score and evidence for ``text`` (arguments as :func:`assess`)."""
    norm = redflags.normalise(text)
    rules = redflags.rule_scores(norm)
    found = Assessment(
        framed=rules.informational or bool(_FRAMED.search(norm)),
        resolved=_resolved(norm),
    )
    for category, cues in rules.cues.items():
        bonus = rules.scores[category] - sum(weight for _, weight in cues)
        for index, (cue, weight) in enumerate(cues):
            found.add(category, Evidence("cue", cue, weight + (bonus if index == 0 else 0.0)))
    if not rules.informational:
        _add_numbers(norm, found)
    if match is not None and not found.framed:
        _add_semantic(cleaned or text, match, vector, found)
    if model is not None and learned.reads_as_message(norm):
        add_learned(found, model.guess(norm), flag=model.flag, boost=model.boost)
    return found


def add_learned(found: Assessment, guess: learned.Guess, *, flag: float, boost: float) -> None:
    """Add the learned model's ``guess`` to ``found`` (thresholds as in the module doc).

    At ``flag`` the model's evidence weighs 1.5, enough for a message that says it is over
    or mild: the model read the whole message, "he says he feels fine" included, so its
    probability already counts what made the message look resolved (out of set on the
    blind sets a–g at flag 0.6: recall 0.980 → 0.987, no more false alarms;
    ``docs/safety.md``).
    """
    score = found.scores.get(guess.category, 0.0)
    if guess.emergency < boost or score >= (1.5 if found.resolved else 1.0):
        return  # too unsure, or already flagged: the cues' evidence explains it better
    label = f"learned model: emergency {guess.emergency:.2f}"
    label += f", {guess.category} {guess.probability:.2f}"
    if guess.emergency >= flag:
        found.add(guess.category, Evidence("model", label, 1.5))
    elif score >= 0.5:
        found.add(guess.category, Evidence("model", label, 0.5))


def _resolved(norm: str) -> bool:
    """Whether the message says it is over or mild (see ``_RESOLVED`` and ``_WAS_FINE``)."""
    if _RESOLVED.search(norm):
        return True
    for found in _WAS_FINE.finditer(norm):
        near = norm[max(0, found.start() - _LAST_WELL_REACH) : found.end() + _LAST_WELL_REACH]
        if not _LAST_WELL.search(near):
            return True
    return False


def _add_numbers(norm: str, found: Assessment) -> None:
    live = [r for r in vitals.readings(norm) if not redflags.suppressed_at(norm, r.start)]
    for category, weight, reading in thresholds.findings(norm, live):
        found.add(category, Evidence("number", _describe(reading), weight))


def _describe(reading: vitals.Reading) -> str:
    """E.g. "glucose 2.5 mmol/L, read as mg/dL ('blood sugar 45 mg/dl')"."""
    value = f"{reading.value:g}"
    if reading.kind == "blood_pressure" and reading.second:
        value = f"{reading.value:g}/{reading.second:g}"
    unit = f" {reading.unit}" if reading.unit else ""
    if reading.kind == "glucose":
        unit = " mmol/L" if reading.unit == "mmol/L" else f" mmol/L, read as {reading.unit}"
        if reading.unit == "ambiguous":
            unit = " (no unit: dangerous as mg/dL and as mmol/L)"
    return f"{reading.kind.replace('_', ' ')} {value}{unit} ('{reading.text.strip()}')"


def _add_semantic(
    text: str,
    match: SemanticMatch,
    vector: npt.NDArray[np.float32] | None,
    found: Assessment,
) -> None:
    alone = not _NEGATED.search(redflags.normalise(text))
    index = semantic.prototype_index(match.encoder)
    if vector is None:
        vector = match.encoder.embed([text])[0]
    for near in index.nearest(vector):
        score = found.scores.get(near.category, 0.0)
        label = f"{near.situation} (cosine {near.cosine:.2f})"
        if score < 1.0 and alone and near.cosine >= match.flag and near.margin >= match.margin:
            found.add(near.category, Evidence("prototype", label, 1.0))
        elif 0.5 <= score < 1.0 and near.cosine >= match.boost:
            found.add(near.category, Evidence("prototype", label, 0.5))
