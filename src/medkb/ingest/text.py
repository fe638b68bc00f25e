"""Pure text helpers shared by the loaders and the Q&A parser: tidying, sentences, cutting.

Nothing here does I/O; every function maps strings to strings.
"""

from __future__ import annotations

import re

#: Characters a shortened text ends with.
ELLIPSIS = "…"
#: Length of the excerpt kept with every source (SPEC §A ``document_sources.excerpt``).
EXCERPT_CHARS = 300
#: Length of a question derived from an answer when a row has none.
DERIVED_QUESTION_CHARS = 200

#: How much more text than needed to read when only the start of a text is wanted.
_HEADROOM = 4

_SPACES = re.compile(r"[^\S\n]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
_LINE_EDGES = re.compile(r" ?\n ?")
_ODD_SPACE = re.compile(r"[^\S ]")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def one_line(text: str) -> str:
    """Collapse every run of whitespace, newlines included, into one space."""
    return " ".join(text.split())


def tidy(text: str) -> str:
    """Normalise layout whitespace but keep line and paragraph structure.

    Each line loses its indentation and repeated spaces; runs of blank lines shrink to one.
    """
    if not _untidy(text):
        return text.strip()
    text = _LINE_EDGES.sub("\n", _SPACES.sub(" ", text.replace("\r\n", "\n")))
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _untidy(text: str) -> bool:
    """Whether ``tidy`` would change more than the ends; cheap checks first (hot path)."""
    if "  " in text or "\n" in text or "\t" in text or "\r" in text:
        return True
    return not text.isascii() and _ODD_SPACE.search(text) is not None


def sentences(text: str) -> list[str]:
    """Split text into sentences at ``.``, ``!`` or ``?`` followed by a capital or digit."""
    return [part for part in _SENTENCE_BREAK.split(one_line(text)) if part]


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary, marked with ``…``."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ELLIPSIS), 1)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + ELLIPSIS


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The first ``limit`` characters of ``text`` on one line, for a source citation."""
    return shorten(one_line(text[: limit * _HEADROOM]), limit)


def first_sentence(text: str, limit: int = DERIVED_QUESTION_CHARS) -> str:
    """The first sentence of ``text``, shortened to ``limit`` characters."""
    found = sentences(text[: limit * _HEADROOM])
    return shorten(found[0], limit) if found else ""


def split_to_fit(text: str, limit: int) -> list[str]:
    """Split one paragraph into pieces of at most ``limit`` characters.

    Cuts between sentences where it can, else between words, else inside a word; joining
    the pieces with spaces gives back the paragraph with its whitespace collapsed.
    """
    pieces: list[str] = []
    for unit in _units(one_line(text), limit):
        if pieces and len(pieces[-1]) + 1 + len(unit) <= limit:
            pieces[-1] += " " + unit
        else:
            pieces.append(unit)
    return pieces


def _units(text: str, limit: int) -> list[str]:
    """Sentences of ``text``, with any sentence over ``limit`` broken into words or slices."""
    units: list[str] = []
    for sentence in sentences(text):
        if len(sentence) <= limit:
            units.append(sentence)
            continue
        for word in sentence.split(" "):
            units.extend(word[start : start + limit] for start in range(0, len(word), limit))
    return units
