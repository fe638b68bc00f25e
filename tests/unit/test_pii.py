"""Personal identifiers never reach the query logs; medical numbers always do."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medkb.search.pii import luhn_valid
from medkb.search.pii import redact_pii as redact

REDACTED = [
    ("write to jane.doe+kb@example.co.uk please", "write to [email] please"),
    ("call +44 20 7946 0958 today", "call [phone] today"),
    ("my cell is (555) 123-4567.", "my cell is [phone]."),
    ("555-123-4567 or 555.123.4567", "[phone] or [phone]"),
    ("+1 (555) 123-4567", "[phone]"),
    ("+15551234567", "[phone]"),
    ("mobile 07700 900123", "mobile [phone]"),
    ("appelez le 06 12 34 56 78", "appelez le [phone]"),
    ("Tel. +49 30 12345678", "Tel. [phone]"),
    ("+33 1 23 45 67 89", "[phone]"),
    ("SSN 123-45-6789", "SSN [national-id]"),
    ("NI number AB 12 34 56 C", "NI number [national-id]"),
    ("ni AB123456C", "ni [national-id]"),
    ("card 4111 1111 1111 1111 exp", "card [card] exp"),
    ("4111-1111-1111-1111", "[card]"),
    ("paid with 5500005555555559.", "paid with [card]."),
    ("IBAN GB82 WEST 1234 5698 7654 32", "IBAN [iban]"),
    ("DE89370400440532013000", "[iban]"),
]

KEPT = [
    "Take 500 mg twice daily",
    "My blood pressure is 140/90, yesterday 120/80 mmHg",
    "Fasting glucose 35 mg/dL, HbA1c 6.5%",
    "I am 45 years old, a 45-year-old man",
    "Diagnosed in 2024, on 2024-01-15 or 15.01.2024 or 01/15/2024",
    "Readings were 110 120 130 140 150",
    "Temperatures 98.6 99.1 100.2 101.3",
    "Between 1990-2020, 100 000 IU of vitamin D, at 10:30, 1,000 mg",
    "Platelets 150000 to 450000 per microliter",
    "ICD-10 E11.9, LDL 3.4 mmol/L, weight 72.5 kg, BMI 24",
    "Pulse 72 bpm, SpO2 98%, heart rate 60-100",
    "bad card 4111 1111 1111 1112",  # not Luhn-valid: not a card, too long for a phone
    "Call 911 or 112, 999 in the UK, or 988",
]


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_personal_identifiers_are_replaced_by_placeholders(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_medical_numbers_survive(text: str) -> None:
    assert redact(text) == text


@given(st.emails())
def test_any_email_is_redacted(address: str) -> None:
    assert redact(f"contact {address} now") == "contact [email] now"


@given(st.integers(200, 999), st.integers(200, 999), st.integers(0, 9999), st.integers(0, 3))
def test_us_phone_numbers_in_every_common_format_are_redacted(
    area: int, exchange: int, line: int, style: int
) -> None:
    formats = [
        f"({area}) {exchange}-{line:04d}",
        f"{area}-{exchange}-{line:04d}",
        f"{area}.{exchange}.{line:04d}",
        f"+1 {area} {exchange} {line:04d}",
    ]
    assert redact(f"reach me on {formats[style]} after 5") == "reach me on [phone] after 5"


@given(st.lists(st.integers(0, 9), min_size=14, max_size=14))
def test_luhn_valid_16_digit_numbers_are_redacted_as_cards(body: list[int]) -> None:
    prefix = "4" + "".join(map(str, body))
    check = next(d for d in range(10) if luhn_valid(prefix + str(d)))
    number = prefix + str(check)
    grouped = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    assert redact(f"card {grouped}.") == "card [card]."
    assert redact(f"card {number}") == "card [card]"


@given(
    st.integers(1, 2000),
    st.sampled_from(["mg", "mcg", "ml", "mg/dL", "mmol/L", "IU", "units", "%", "kg"]),
    st.integers(60, 250),
    st.integers(30, 150),
    st.integers(1900, 2100),
    st.integers(0, 120),
)
def test_doses_pressures_years_and_ages_are_never_redacted(
    dose: int, unit: str, systolic: int, diastolic: int, year: int, age: int
) -> None:
    text = f"{dose} {unit} daily, BP {systolic}/{diastolic}, since {year}, aged {age}"
    assert redact(text) == text


@given(st.text(max_size=200))
def test_redaction_is_idempotent_and_never_adds_digits(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    assert sum(c.isdigit() for c in once) <= sum(c.isdigit() for c in text)


def test_long_adversarial_input_is_fast() -> None:
    text = " ".join(["1"] * 5000) + "-" + "9" * 5000 + " (12) " * 2000
    start = time.perf_counter()
    redact(text)
    assert time.perf_counter() - start < 2.0
