"""Removing personal identifiers from text before it is logged (``query_logs``).

:func:`redact_pii` replaces, in this order:

* e-mail addresses → ``[email]``;
* payment card numbers (13–19 digits, spaces or dashes allowed, Luhn checksum valid)
  → ``[card]``;
* IBANs (country code, check digits, up to 30 letters/digits, mod-97 valid) → ``[iban]``;
* US social security numbers (``123-45-6789``, ``123 45 6789``) and UK National
  Insurance numbers (``QQ 12 34 56 C``) → ``[national-id]``;
* phone numbers: 10–15 digits, or 8–15 after a leading ``+``, in groups separated by
  spaces, dashes, dots or an area code in parentheses (``+44 20 7946 0958``,
  ``(555) 123-4567``, ``06 12 34 56 78``) → ``[phone]``.

Medical numbers are left alone on purpose: doses (``500 mg``), blood pressure
(``140/90``), lab values (``35 mg/dL``, ``6.5%``), ages, years and dates (``2024-01-15``,
``15.01.2024``) have too few digits or the wrong shape to be any of the above; a run of
three-digit readings separated by spaces (``110 120 130 140``) and numbers with decimal
points next to spaces (``98.6 99.1 100.2``) are not taken for phone numbers either.

Pure and regex-based: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable

EMAIL, PHONE, CARD, IBAN, NATIONAL_ID = "[email]", "[phone]", "[card]", "[iban]", "[national-id]"

#: RFC 5322 local parts may hold any of ``!#$%&'*+/=?^`{|}~-`` besides letters and digits.
_LOCAL = r"[\w.!#$%&'*+/=?^`{|}~-]"
_EMAIL = re.compile(rf"(?i)(?<!{_LOCAL}){_LOCAL}+@[\w-]+(?:\.[\w-]+)+\b")
#: A run of digit groups; :func:`_is_card` / :func:`_is_phone` decide what it is.
_DIGIT_RUN = re.compile(
    r"(?<![\w+.,/])(?:\+\s?)?(?:\(\d{1,5}\)\s?)?\d{1,19}(?:(?:[ .-]|\)\s?|\s?\()\d{1,19}){0,7}"
    r"(?![\w/%]|[.,]\d)"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])")
_NI = re.compile(
    r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"
)


def redact_pii(text: str) -> str:
    """``text`` with personal identifiers replaced by placeholders (see the module doc).

    Args:
        text: Any text: a user's query, an answer, a feedback comment.

    Returns:
        The text with each identifier replaced by ``[email]``, ``[card]``, ``[iban]``,
        ``[national-id]`` or ``[phone]``; everything else unchanged.
    """
    text = _EMAIL.sub(EMAIL, text)
    text = _DIGIT_RUN.sub(_only_if(_is_card, CARD), text)
    text = _IBAN.sub(_only_if(_is_iban, IBAN), text)
    text = _SSN.sub(NATIONAL_ID, text)
    text = _NI.sub(NATIONAL_ID, text)
    return _DIGIT_RUN.sub(_only_if(_is_phone, PHONE), text)


def _only_if(check: Callable[[str], bool], placeholder: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return placeholder if check(match.group()) else match.group()

    return replace


def _digits(candidate: str) -> str:
    return re.sub(r"\D", "", candidate)


def _is_card(candidate: str) -> bool:
    """13–19 digits, separated only by single spaces or dashes, with a valid Luhn sum."""
    if re.search(r"[^\d -]", candidate):
        return False
    digits = _digits(candidate)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def luhn_valid(digits: str) -> bool:
    """Whether ``digits`` pass the Luhn checksum of payment card numbers."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_iban(candidate: str) -> bool:
    """An IBAN's length (15–34) and mod-97 check."""
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


def _is_phone(candidate: str) -> bool:
    """A phone number's digit count and shape (see the module doc for what is refused)."""
    digits = _digits(candidate)
    international = candidate.startswith("+")
    if not (8 if international else 10) <= len(digits) <= 15:
        return False
    if "." in candidate and " " in candidate:
        return False  # decimals next to each other: "98.6 99.1 100.2"
    groups = re.split(r"[ .()-]+", candidate.strip("+() "))
    readings = all(len(group) == 3 for group in groups) and len(groups) > 3
    return not (readings and not international and "(" not in candidate and "-" not in candidate)
