"""Which numbers are dangerous: the readings of :mod:`medkb.answer.vitals` → category weights.

The limits are clinical conventions, not tuned on the development set (the sources are
named beside each): a weight of 1 flags on its own, 0.5 needs a cue of the same category
("sugar 3.5" + "confused"). Readings in a negated, past or hypothetical clause were
already dropped by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from medkb.answer.vitals import Reading

#: (category, weight, reading): what one reading says.
Finding = tuple[str, float, Reading]

_EXERCISE = re.compile(r"\b(?:workout|sprint\w*|running|run|exercis\w*|cardio|gym|training|hiit)\b")
_REST = re.compile(r"\b(?:asleep|sleeping|athlete|runner|fit)\b")
_HEAT = re.compile(r"\b(?:heat\w*|sun|hot|sauna|greenhouse|football|marathon|hiking)\b")
_PREGNANT = re.compile(r"\bpregnan\w*|\b\d\d ?(?:weeks|wks)\b(?! ago)|\bpostpartum\b")
#: The words the fever cue of :mod:`medkb.answer.redflag_cues` matches: counted once.
_FEVER_WORD = re.compile(
    r"\bfever|\bhigh temp|\bburning up\b|\b(?:has|with|got|running|have) a (?:temp|temperature)\b"
)


def findings(norm: str, found: Iterable[Reading]) -> list[Finding]:
    """The category weights the readings ``found`` in ``norm`` carry."""
    readings = list(found)
    age = min((r.value for r in readings if r.kind == "age_days"), default=None)
    out: list[Finding] = []
    for reading in readings:
        out += _one(norm, reading, age)
    return out


def _one(norm: str, reading: Reading, age: float | None) -> list[Finding]:
    rule = {
        "glucose": _glucose,
        "heart_rate": _heart_rate,
        "temperature": _temperature,
        "blood_pressure": _blood_pressure,
        "oxygen": _oxygen,
        "pills": _pills,
        "seizure_min": _seizure,
    }.get(reading.kind)
    if rule is None:
        return []
    return [(category, weight, reading) for category, weight in rule(norm, reading, age)]


def _glucose(_norm: str, reading: Reading, _age: float | None) -> list[tuple[str, float]]:
    # ADA: level 2 hypoglycaemia < 3.0 mmol/L (54 mg/dL); level 1 < 3.9 (70). DKA/HHS
    # territory from about 16.7 mmol/L (300 mg/dL) with symptoms; 25 (450) alone.
    mmol = reading.value
    if reading.unit == "ambiguous" or mmol < 3.0 or mmol >= 25:
        return [("glucose", 1.0)]
    if mmol < 3.9 or mmol >= 16.7:
        return [("glucose", 0.5)]
    return []


def _heart_rate(norm: str, reading: Reading, _age: float | None) -> list[tuple[str, float]]:
    # Adult tachycardia with compromise from about 150/min; bradycardia below 40/min.
    bpm = reading.value
    if bpm >= 150:
        return [("arrhythmia", 0.5 if _EXERCISE.search(norm) else 1.0)]
    if bpm >= 130:
        return [("arrhythmia", 0.5)]
    if bpm <= 40:
        return [("arrhythmia", 0.5 if _REST.search(norm) else 1.0)]
    if bpm <= 45:
        return [("arrhythmia", 0.5)]
    return []


def _temperature(norm: str, reading: Reading, age: float | None) -> list[tuple[str, float]]:
    # NICE NG143: any fever >= 38 °C under 3 months is high risk; >= 39 °C at 3-6 months.
    celsius = reading.value
    if age is not None and age < 91 and (celsius >= 38.0 or celsius < 36.0):
        return [("infant", 1.0)]
    if age is not None and age < 183 and celsius >= 39.0:
        return [("infant", 1.0)]
    if celsius <= 35.0:
        return [("heat_cold", 1.0)]
    if celsius >= 40.0:
        heat = _HEAT.search(norm) is not None
        high = 1.0 if celsius >= 41.0 else 0.5
        return [("heat_cold", high if heat else 0.5), ("sepsis", 0.5 if heat else high)]
    if celsius >= 38.0 and not _FEVER_WORD.search(norm):
        return [("sepsis", 0.5)]  # a fever by number only; the word 'fever' is a cue
    return []


def _blood_pressure(norm: str, reading: Reading, _age: float | None) -> list[tuple[str, float]]:
    # Pre-eclampsia: severe from 160/110; hypertensive emergency from 180/120 with
    # symptoms; shock below 90 systolic.
    systolic, diastolic = reading.value, reading.second
    if _PREGNANT.search(norm):
        if systolic >= 160 or diastolic >= 110:
            return [("obstetric", 1.0)]
        if systolic >= 140 or diastolic >= 90:
            return [("obstetric", 0.5)]
    if systolic >= 220 or diastolic >= 130:
        return [("cardiac", 1.0), ("vascular", 0.5)]
    if systolic >= 180 or diastolic >= 120:
        return [("cardiac", 0.5), ("vascular", 0.5), ("stroke", 0.5)]
    if systolic <= 80:
        return [("sepsis", 1.0), ("bleeding", 0.5)]
    if systolic < 90:
        return [("sepsis", 0.5), ("bleeding", 0.5)]
    return []


def _oxygen(_norm: str, reading: Reading, _age: float | None) -> list[tuple[str, float]]:
    # BTS: target 94-98 %; below 92 % on air needs urgent assessment.
    if reading.value < 92:
        return [("breathing", 1.0)]
    if reading.value < 94:
        return [("breathing", 0.5)]
    return []


def _pills(_norm: str, reading: Reading, _age: float | None) -> list[tuple[str, float]]:
    # Ten or more tablets at once is an overdose for nearly every medicine people keep.
    if reading.value >= 10:
        return [("poisoning", 1.0)]
    if reading.value >= 5:
        return [("poisoning", 0.5)]
    return []


def _seizure(_norm: str, reading: Reading, _age: float | None) -> list[tuple[str, float]]:
    # A seizure of 5 minutes or more is status epilepticus: call an ambulance.
    if reading.value >= 5:
        return [("seizure", 1.0)]
    if reading.value >= 3:
        return [("seizure", 0.5)]
    return []
