"""Numbers in messages: vital signs, doses and durations parsed with their units."""

from __future__ import annotations

import pytest

from medkb.answer.redflags import normalise
from medkb.answer.thresholds import findings
from medkb.answer.vitals import (
    age_days,
    blood_pressure,
    glucose,
    heart_rate,
    number,
    oxygen,
    pills,
    readings,
    seizure_minutes,
    temperature,
)


def _values(parser: object, text: str) -> list[tuple[float, str]]:
    return [(r.value, r.unit) for r in parser(normalise(text))]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my sugar is 2.1 and he's sweating", [(2.1, "mmol/L")]),
        ("blood sugar 45 mg/dl shaky", [(2.5, "mg/dL")]),
        ("sugars 2.5 mmol/l juice not helping", [(2.5, "mmol/L")]),
        ("type 1, sugar 28 mmol and ketones high", [(28.0, "mmol/L")]),
        ("my glucose was 550 and I'm thirsty", [(30.56, "mg/dL")]),
        ("blood sugar reads 35 and i'm confused", [(35.0, "ambiguous")]),
        ("bg 31.5 mmol/L, vomiting", [(31.5, "mmol/L")]),
        ("my son's glucose meter says HI", [(33.3, "HI")]),
        ("fasting sugar was 110 this morning", [(6.11, "mg/dL")]),
        ("my hba1c is 7.2", []),
    ],
)
def test_glucose_is_read_in_mmol_per_litre_with_or_without_units(
    text: str, expected: list[tuple[float, str]]
) -> None:
    assert _values(glucose, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my heart is beating 190 and i feel faint", [190.0]),
        ("heart rate 180 bpm and dizzy", [180.0]),
        ("my dad's pulse is 35", [35.0]),
        ("my apple watch says 175 bpm at rest", [175.0]),
        ("his heart is only beating 32 a minute", [32.0]),
        ("pulse ox reads 88 percent", []),  # an oxygen saturation, not a heart rate
    ],
)
def test_heart_rate(text: str, expected: list[float]) -> None:
    assert [value for value, _ in _values(heart_rate, text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my 6 week old has a fever of 38.3", [38.3]),
        ("her temp is 100.6", [38.1]),
        ("fever 104 f and confused", [40.0]),
        ("temperature 35 degrees c, shivering stopped", [35.0]),
        ("newborn feels hot, 38.1 rectal", [38.1]),
        ("after football in 35 degree heat, 40.5 temp", [40.5]),  # 35 °C is the weather
        ("core temp 33, hypothermic", [33.0]),
    ],
)
def test_temperature_in_celsius_fahrenheit_converted(text: str, expected: list[float]) -> None:
    assert [value for value, _ in _values(temperature, text)] == expected


def test_blood_pressure_pairs_and_single_systolic() -> None:
    found = blood_pressure(normalise("pregnant 35 weeks, blood pressure 165/110 and headache"))
    assert [(r.value, r.second) for r in found] == [(165.0, 110.0)]
    found = blood_pressure(normalise("her bp is 80 over 45"))
    assert [(r.value, r.second) for r in found] == [(80.0, 45.0)]
    assert [r.value for r in blood_pressure(normalise("ripping pain, bp 190"))] == [190.0]
    assert list(blood_pressure(normalise("abdominal pain 10/10"))) == []  # a pain score


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("her oxygen says 84%", [84.0]),
        ("sats 89 and dropping", [89.0]),
        ("pulse ox reads 88 percent", [88.0]),
        ("my dad's sats are 86 on the finger thing", [86.0]),
    ],
)
def test_oxygen_saturation(text: str, expected: list[float]) -> None:
    assert [value for value, _ in _values(oxygen, text)] == expected


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("I swallowed a month of sleeping pills", 30.0),
        ("my daughter took 30 paracetamol an hour ago", 30.0),
        ("took the whole bottle of my sertraline", 30.0),
        ("swallowed around 40 tablets of ibuprofen 400mg", 40.0),
        ("took about twenty of my antidepressants", 20.0),
        ("friend took a handful of pills", 10.0),
        ("took 2 ibuprofen 200mg for a headache", 2.0),
    ],
)
def test_pills_taken_at_once(text: str, count: float) -> None:
    assert [value for value, _ in _values(pills, text)][:1] == [count]


def test_seizure_minutes_only_when_a_seizure_is_described() -> None:
    assert _values(seizure_minutes, "my son's seizure has gone on for six minutes") == [
        (6.0, "min")
    ]
    assert _values(seizure_minutes, "fitting for 10 mins now") == [(10.0, "min")]
    assert _values(seizure_minutes, "migraine aura for 20 mins then headache") == []
    assert _values(seizure_minutes, "baby is stiff and jerking for about 5 minutes") == [
        (5.0, "min")
    ]


def test_age_of_a_baby_in_days() -> None:
    assert _values(age_days, "my 6 week old has a fever") == [(42.0, "days")]
    assert _values(age_days, "baby 3 months temp 39") == [(91.2, "days")]
    assert _values(age_days, "newborn is 10 days old") == [(10.0, "days")]
    assert _values(age_days, "im 32 weeks pregnant") == []


def test_word_numbers() -> None:
    assert number("six") == 6.0 and number("38.5") == 38.5 and number("twenty") == 20.0


@pytest.mark.parametrize(
    ("text", "category", "weight"),
    [
        ("sugar 2.1", "glucose", 1.0),
        ("sugar 3.5", "glucose", 0.5),
        ("blood sugar reads 35", "glucose", 1.0),  # severe whichever the unit
        ("heart rate 180", "arrhythmia", 1.0),
        ("heart rate went to 170 during my sprint workout", "arrhythmia", 0.5),
        ("pulse is 35", "arrhythmia", 1.0),
        ("my 6 week old has a temp of 38.1", "infant", 1.0),
        ("core temp 33", "heat_cold", 1.0),
        ("pregnant, bp 165/110", "obstetric", 1.0),
        ("bp 80 over 45", "sepsis", 1.0),
        ("oxygen 84%", "breathing", 1.0),
        ("took 30 paracetamol", "poisoning", 1.0),
        ("seizure for 5 minutes", "seizure", 1.0),
    ],
)
def test_dangerous_numbers_weigh_on_their_category(text: str, category: str, weight: float) -> None:
    norm = normalise(text)
    weights = {cat: w for cat, w, _ in findings(norm, readings(norm))}
    assert weights.get(category) == weight


@pytest.mark.parametrize(
    "text",
    [
        "glucose 4.2 before bed",
        "my blood sugar was 180 after a big pasta meal",
        "my heart rate is 55 and i'm a runner",
        "my 2 year old has a fever of 38.5",
        "my oxygen is 97%",
        "blood pressure 118/76 at 30 weeks",
        "took 2 ibuprofen 200mg",
    ],
)
def test_normal_numbers_weigh_nothing(text: str) -> None:
    norm = normalise(text)
    assert findings(norm, readings(norm)) == []
