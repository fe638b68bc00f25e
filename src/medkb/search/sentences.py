"""Sentence splitting for extractive answers: robust to abbreviations, units and lists.

Pure and regex-based; every returned sentence is an exact substring of the input.
"""

from __future__ import annotations

import re

from medkb.search.text import wordset

#: Abbreviations that never end a sentence (lowercase, without the final period).
_TITLES = wordset(
    """
    dr mr mrs ms prof sr jr st vs v cf fig figs al approx ca dept gen gov ref vol pp ch eq
    ave mt rev hon lt col sgt capt jan feb apr jun jul aug sept oct nov dec esp incl
    """
)
#: Abbreviations that end a sentence only before a capital letter ("5 mg. twice" vs "5 mg. It").
_UNITS = wordset(
    """
    mg mcg µg ug ml dl kg g cm mm km lb lbs oz hr hrs min mins sec secs wk wks yr yrs mo mos
    mmol iu etc inc ltd co
    """
)
_BULLET_CHARS = "•·‣◦▪●○■□➢➤►▸"
_LINE_BULLET = re.compile(rf"[ \t]*(?:[-*+‒–—{_BULLET_CHARS}]|\d{{1,3}}[.)])(?=\s)[ \t]*")
_INLINE_BULLET = re.compile(rf"(?:(?<=\s)|^)[{_BULLET_CHARS}](?=\s)")
_TERMINAL = re.compile(r"(?<![.!?])[.!?]++[\"'”’)\]]*+(?=\s)")
_NEXT_CHAR = re.compile(r"\s*(\S)")
_PREV_WORD = re.compile(r"([^\W\d_][\w.]*)\.+$")
_INITIALISM = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")
#: A line this short (no final punctuation) is a heading or list item, not a soft wrap.
_SHORT_LINE = 40


def split_sentences(text: str) -> list[str]:
    """Split text into sentences and list items.

    Paragraphs (blank lines), bullet and numbered list items (``-``, ``*``, ``•``,
    ``1.``, ``2)`` ...), short heading lines and lines ending in punctuation are separate
    units; a long line without final punctuation is taken as soft-wrapped. Within a unit,
    sentences end at ``.``, ``!`` or ``?`` before whitespace, except after abbreviations
    ("Dr.", "vs.", "e.g.", "i.e.", "U.S."), after units before a lowercase word ("5 mg.
    twice daily"), and after "..." before a lowercase word.

    Args:
        text: Any text.

    Returns:
        The sentences in order. Each is a verbatim, stripped substring of ``text`` (bullet
        markers removed); pieces without a letter or digit are dropped.
    """
    return [sentence for sentence, _item in split_list_items(text)]


def split_list_items(text: str) -> list[tuple[str, bool]]:
    """:func:`split_sentences`, each sentence paired with whether it belongs to a list
    item (a bulleted or numbered line, or an inline ``•`` item), so that a caller can keep
    a list and the sentence leading into it together."""
    sentences: list[tuple[str, bool]] = []
    for start, end, item in _units(text):
        for piece_start, piece_end in _sentence_spans(text, start, end):
            piece = text[piece_start:piece_end].strip()
            if re.search(r"[^\W_]", piece):
                sentences.append((piece, item))
    return sentences


def _units(text: str) -> list[tuple[int, int, bool]]:
    """Spans of the paragraphs, list items and lines that no sentence may cross, each with
    whether it is a list item."""
    spans: list[tuple[int, int, bool]] = []
    start, item = 0, False
    for line_match in re.finditer(r"[^\n]*(?:\n|$)", text):
        line, line_end = line_match[0], line_match.end()
        bullet = _LINE_BULLET.match(line)
        if bullet is not None:
            spans.append((start, line_match.start(), item))
            start, item = line_match.start() + bullet.end(), True
        if _ends_unit(line) or line_end == len(text):
            spans.append((start, line_end, item))
            start, item = line_end, False
        if line_end == len(text):
            break
    return [span for piece in spans for span in _split_inline_bullets(text, *piece)]


def _ends_unit(line: str) -> bool:
    """Whether a line break after ``line`` ends the unit (not a soft wrap)."""
    stripped = line.strip()
    return not stripped or len(stripped) < _SHORT_LINE or stripped[-1] in ".!?:;\"')]”’"


def _split_inline_bullets(
    text: str, start: int, end: int, item: bool
) -> list[tuple[int, int, bool]]:
    """Cut a span at bullets in running text ("Symptoms: • fever • cough")."""
    cuts = [m.start() for m in _INLINE_BULLET.finditer(text, start, end)]
    bounds = [start, *[cut for cut in cuts if cut > start]]
    pieces = [(a, b) for a, b in zip(bounds, [*bounds[1:], end], strict=True)]
    return [(a + 1, b, True) if a in cuts else (a, b, item) for a, b in pieces]


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split one unit at sentence-ending punctuation."""
    spans: list[tuple[int, int]] = []
    for match in _TERMINAL.finditer(text, start, end):
        if _is_boundary(text, match.start(), match.end(), end):
            spans.append((start, match.end()))
            start = match.end()
    spans.append((start, end))
    return spans


def _is_boundary(text: str, punct_start: int, punct_end: int, end: int) -> bool:
    """Whether the punctuation at ``punct_start`` ends a sentence."""
    following = _NEXT_CHAR.match(text, punct_end, end)
    if following is None:
        return True
    punct = text[punct_start:punct_end]
    if "?" in punct or "!" in punct:
        return True
    lower_next = following[1].islower()
    if punct.startswith("..."):
        return not lower_next
    word = _PREV_WORD.search(text, max(0, punct_start - 40), punct_start + 1)
    return _period_ends(word[1].lower() if word else "", lower_next)


def _period_ends(word: str, lower_next: bool) -> bool:
    """Whether a period after ``word`` ends the sentence, given the next letter's case."""
    if word in _TITLES or _INITIALISM.fullmatch(word):
        return False
    if word in _UNITS:
        return not lower_next
    return True
