"""Numbers in a message: vital signs, doses and durations, with their units.

Pure functions over normalised text (see :func:`medkb.answer.redflags.normalise`). Each
parser returns :class:`Reading` objects in one canonical unit per kind:

=================  ====================  =============================================
kind               unit                  understood
=================  ====================  =============================================
``glucose``        mmol/L                "sugar 2.1", "45 mg/dl", "bg 32", "meter says HI"
``heart_rate``     beats per minute      "pulse 35", "heart rate is 190", "175 bpm"
``temperature``    °C                    "temp 38.3", "100.6", "104 f", "39 degrees"
``blood_pressure`` mmHg (systolic)       "165/110", "bp 80 over 45", "bp 190"
``oxygen``         %                     "sats 86", "oxygen says 84%", "pulse ox 88 percent"
``pills``          tablets               "30 paracetamol", "a month of sleeping pills"
``seizure_min``    minutes               "seizure ... six minutes", "fitting for 10 mins"
``age_days``       days                  "6 week old", "newborn", "baby 3 months"
=================  ====================  =============================================

Glucose without a unit is read as mmol/L below 20 or with a decimal point, as mg/dL from
40, and as *ambiguous* from 20 to 39 — where either reading is dangerous (35 mg/dL is a
severe hypo, 35 mmol/L a severe hyper), which :mod:`medkb.answer.triage` uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "a dozen": 12, "dozen": 12,
}  # fmt: skip
_WORD_NUM = "|".join(sorted((w for w in _WORDS if w not in ("a", "an")), key=len, reverse=True))
NUM = rf"(\d+(?:\.\d+)?|{_WORD_NUM})"
#: mg/dL per mmol/L of glucose.
MG_PER_MMOL = 18.0


@dataclass(frozen=True)
class Reading:
    """One number found in a message, in its kind's canonical unit."""

    kind: str
    value: float
    text: str
    unit: str = ""
    #: Diastolic pressure for ``blood_pressure``; 0 when not given.
    second: float = 0.0
    #: Offset of the match in the text (for clause-level negation and history checks).
    start: int = 0


def number(token: str) -> float:
    """``"38.5"`` → 38.5, ``"six"`` → 6."""
    token = token.strip()
    return float(_WORDS[token]) if token in _WORDS else float(token)


def readings(norm: str) -> list[Reading]:
    """Every reading of every kind in ``norm``, in text order."""
    found = [
        *glucose(norm),
        *heart_rate(norm),
        *temperature(norm),
        *blood_pressure(norm),
        *oxygen(norm),
        *pills(norm),
        *seizure_minutes(norm),
        *age_days(norm),
    ]
    return sorted(found, key=lambda reading: reading.start)


_GLUCOSE = re.compile(
    r"\b(?:blood sugars?|sugars?|glucose|bgl?|bm|meter|reading|cbg)\b"
    r"(?:[^\d.!?]{0,25}?)(\d+(?:\.\d+)?)\s*\+?\s*(mmol(?:/l)?|mg ?/ ?dl|mg)?"
)
_GLUCOSE_HI = re.compile(
    r"\b(?:meter|glucometer|monitor|sugar)\b.{0,15}\b(?:says|reads|shows) hi\b"
)


def glucose(norm: str) -> Iterator[Reading]:
    """Blood glucose readings, in mmol/L (unit ``ambiguous`` for a unitless 20–39)."""
    for match in _GLUCOSE.finditer(norm):
        value, unit = number(match.group(1)), (match.group(2) or "").replace(" ", "")
        if unit.startswith("mmol"):
            mmol, label = value, "mmol/L"
        elif unit.startswith("mg"):
            mmol, label = value / MG_PER_MMOL, "mg/dL"
        elif value < 20 or (value < 40 and "." in match.group(1)):
            mmol, label = value, "mmol/L"
        elif value < 40:
            mmol, label = value, "ambiguous"
        else:
            mmol, label = value / MG_PER_MMOL, "mg/dL"
        if 0.5 <= mmol <= 60 and not _is_hba1c(norm, match.start()):
            yield Reading("glucose", round(mmol, 2), match.group(0), label, start=match.start())
    for match in _GLUCOSE_HI.finditer(norm):
        yield Reading("glucose", 33.3, match.group(0), "HI", start=match.start())


def _is_hba1c(norm: str, start: int) -> bool:
    return bool(re.search(r"\b(?:hba1c|a1c)\b", norm[max(0, start - 20) : start + 10]))


_HEART = re.compile(
    r"\b(?:heart ?rate|hr|pulse|heart(?:beat)?(?: is| was)?(?: beating| going| racing)?)\b"
    r"(?! ?ox)(?:[^\d.!?%]{0,20}?)(?:over |above |of )?" + r"(\d{2,3})\b(?!\s*(?:%|percent|/))"
)
_BPM = re.compile(r"\b(\d{2,3})\s*(?:bpm|beats? (?:a|per) min(?:ute)?)\b")


def heart_rate(norm: str) -> Iterator[Reading]:
    """Heart rates in beats per minute."""
    seen: set[int] = set()
    for pattern in (_HEART, _BPM):
        for match in pattern.finditer(norm):
            value = float(match.group(1))
            if 20 <= value <= 300 and match.start(1) not in seen:
                seen.add(match.start(1))
                yield Reading("heart_rate", value, match.group(0), "bpm", start=match.start())


_TEMP = re.compile(
    r"\b(?:temp(?:erature)?|fever|febrile|core temp|body temp|thermometer)\b"
    r"(?:[^\d!?]{0,20}?)"
    + r"(\d{2,3}(?:\.\d)?)\s*(?:°|degrees?|deg)?\s*(c|f|celsius|fahrenheit)?\b"
)
_DEGREES = re.compile(r"\b(\d{2,3}(?:\.\d)?)\s*(?:°|degrees?|deg)\s*(c|f|celsius|fahrenheit)?\b")
_BARE_DECIMAL = re.compile(r"(?<![\d./])\b(3[4-9]\.\d|4[0-2]\.\d|9[5-9]\.\d|10[0-7]\.\d)\b(?!\s*%)")
_AMBIENT = re.compile(r"^\s*(?:heat|outside|weather|out|in the shade)\b")


def temperature(norm: str) -> Iterator[Reading]:
    """Body temperatures in °C (Fahrenheit converted); ambient "35 degree heat" skipped."""
    seen: set[int] = set()
    for pattern in (_TEMP, _DEGREES, _BARE_DECIMAL):
        for match in pattern.finditer(norm):
            if match.start(1) in seen or _AMBIENT.match(norm[match.end() :]):
                continue
            value = float(match.group(1))
            unit = (match.group(2) or "") if pattern is not _BARE_DECIMAL else ""
            celsius = (value - 32) * 5 / 9 if unit.startswith("f") or value >= 86 else value
            if 25 <= celsius <= 45:
                seen.add(match.start(1))
                yield Reading(
                    "temperature", round(celsius, 1), match.group(0), "°C", start=match.start()
                )


_BP_PAIR = re.compile(r"(?<![\d/])(\d{2,3})\s*(?:/|over)\s*(\d{2,3})(?![\d/])")
_BP_SINGLE = re.compile(r"\b(?:bp|blood pressure)\b(?:[^\d!?]{0,15}?)(\d{2,3})\b(?!\s*(?:/|over))")
_BP_WORDS = re.compile(r"\b(?:bp|blood pressure|pressure)\b")


def blood_pressure(norm: str) -> Iterator[Reading]:
    """Blood pressures: ``value`` systolic, ``second`` diastolic (0 when only one given)."""
    for match in _BP_PAIR.finditer(norm):
        systolic, diastolic = float(match.group(1)), float(match.group(2))
        near_words = _BP_WORDS.search(norm[max(0, match.start() - 30) : match.start()])
        if "over" in match.group(0) and not near_words:
            continue
        if 60 <= systolic <= 280 and 30 <= diastolic <= 180 and systolic > diastolic:
            yield Reading(
                "blood_pressure", systolic, match.group(0), "mmHg", diastolic, match.start()
            )
    for match in _BP_SINGLE.finditer(norm):
        systolic = float(match.group(1))
        if 60 <= systolic <= 280:
            yield Reading("blood_pressure", systolic, match.group(0), "mmHg", start=match.start())


_OXYGEN = re.compile(
    r"\b(?:oxygen|o2|sats?|saturations?|spo2|pulse ?ox(?:imeter)?|oximeter)\b"
    r"(?:[^\d!?]{0,25}?)(\d{2,3})\s*(%|percent)?"
)


def oxygen(norm: str) -> Iterator[Reading]:
    """Oxygen saturations in percent."""
    for match in _OXYGEN.finditer(norm):
        value = float(match.group(1))
        if 50 <= value <= 100:
            yield Reading("oxygen", value, match.group(0), "%", start=match.start())


_MEDS = (
    r"(?:pills?|tablets?|tabs|capsules?|caps|meds|medicines?|medication|paracetamol|"
    r"tylenol|acetaminophen|ibuprofen|advil|aspirin|panadol|codeine|co-codamol|"
    r"antidepressants?|sleeping pills|sleeping tablets|painkillers?|[a-z]+(?:pam|lam|zine|"
    r"line|pine|done|tine|pril|olol|statin|xetine))"
)
_AMOUNT = (
    rf"(?:{NUM}|a month(?:'s)? (?:worth )?of|a week(?:'s)? (?:worth )?of|"
    r"(?:a|the) (?:whole|full|entire) (?:bottle|pack|packet|box|strip|tub|blister)s?(?: of)?|"
    r"all (?:of )?(?:my|his|her|their|the|your)|a handful of|handfuls of|a bunch of|"
    r"loads of|lots of|a lot of|too many|an entire (?:bottle|pack|packet|box)(?: of)?)"
)
_PILLS = re.compile(
    r"\b(?:took|taken|take|swallowed|had|ate|eaten|overdosed on|downed|popped|got into|"
    r"taking|swallowing)\b(?: about| around| like| maybe| over| up to)?\s*"
    + _AMOUNT
    + rf"\s*(?:of\s+)?(?:(?:my|his|her|their|the|your|grandma's|grandad's|mum's|dad's)\s+)?"
    rf"(?:[a-z'-]+\s+){{0,3}}?{_MEDS}\b"
)
_COUNT_FIRST = re.compile(rf"\b(\d{{1,3}})\s+{_MEDS}\b")
_BIG = {"month": 30.0, "week": 7.0}


def pills(norm: str) -> Iterator[Reading]:
    """Number of tablets taken at once ("a month of" = 30, "the whole bottle" = 30)."""
    for match in _PILLS.finditer(norm):
        yield Reading("pills", _amount(match), match.group(0), "tablets", start=match.start())
    for match in _COUNT_FIRST.finditer(norm):
        if not _PILLS.search(norm[max(0, match.start() - 30) : match.end()]):
            verb = re.search(r"\b(?:took|taken|swallowed|ate|had)\b", norm[: match.start()])
            if verb and match.start() - verb.end() < 40:
                count = float(match.group(1))
                yield Reading("pills", count, match.group(0), "tablets", start=match.start())


def _amount(match: re.Match[str]) -> float:
    if match.group(1):
        return number(match.group(1))
    text = match.group(0)
    for word, value in _BIG.items():
        if f"a {word}" in text:
            return value
    if re.search(r"handful|bunch", text):
        return 10.0
    if re.search(r"loads|lots|a lot|too many", text):
        return 10.0
    return 30.0  # a whole bottle, all of my pills


_SEIZURE = re.compile(
    r"\b(?:seiz\w*|fit|fits|fitting|convuls\w*|epilep\w*|status|jerking|twitching|shaking all)\b"
)
_MINUTES = re.compile(
    r"\b(?:for |over |more than |about |like |nearly |almost )?"
    + NUM
    + r"\s*(?:min(?:ute)?s?|mins)\b"
)


def seizure_minutes(norm: str) -> Iterator[Reading]:
    """Minutes a seizure has lasted, when the message talks about a seizure."""
    if not _SEIZURE.search(norm):
        return
    for match in _MINUTES.finditer(norm):
        after = norm[match.end() : match.end() + 5]
        if after.startswith(" ago") or re.match(r"\s*(?:apart|between)", after):
            continue
        value = number(match.group(1))
        yield Reading("seizure_min", value, match.group(0).strip(), "min", start=match.start())


_AGE = re.compile(
    r"\b" + NUM + r"\s*-?\s*(days?|weeks?|wks?|months?|mos?)\s*-?\s*old\b"
    r"|\b(?:baby|newborn|infant|son|daughter|boy|girl)\b(?: is| who is|,)?\s*"
    + NUM
    + r"\s*(days?|weeks?|wks?|months?|mos?)\b(?! pregnant)"
    r"|\b(?:baby|newborn|infant) \(" + NUM + r"\s*(days?|weeks?|wks?|months?)\)"
)
_DAYS = {"d": 1.0, "w": 7.0, "m": 30.4}


def age_days(norm: str) -> Iterator[Reading]:
    """The age of a baby in days; "newborn" alone counts as 14 days."""
    found = False
    for match in _AGE.finditer(norm):
        groups = [g for g in match.groups() if g]
        value, unit = number(groups[0]), groups[1]
        found = True
        days = value * _DAYS[unit[0]]
        yield Reading("age_days", round(days, 1), match.group(0), "days", start=match.start())
    newborn = re.search(r"\bnew ?born\b", norm)
    if newborn and not found:
        yield Reading("age_days", 14.0, newborn.group(0), "days", start=newborn.start())
