"""Recover headings and paragraphs from plain lines of text (PDF pages, .txt files). Pure.

PDF text extraction and plain text files give lines, not structure. These heuristics turn
lines into :class:`~medkb.ingest.parse.Block` s:

- **Headings**: a line of at most 12 words and 100 characters, not ending in ``.``, ``,``,
  ``;``, ``!`` or ``?``, written in ALL CAPS (level 2) or Title Case (level 3), that follows
  a finished sentence (or a blank line, or nothing) and is followed by more text. The
  first heading before any paragraph is the document title (level 1). In text files,
  Markdown ``#`` headings and ``===``/``---`` underlines are honoured as well.
- **Paragraphs**: consecutive lines are joined (undoing end-of-line hyphenation); a
  paragraph ends at a blank line, before a bullet or ``Q:``/``A:`` line, and after a line
  that ends a sentence while being clearly shorter than a full line.
- **Running headers and footers**: page-number lines (``3``, ``Page 3 of 4``, ``- 3 -``) and
  lines repeated at the top or bottom of most pages (documents of 3+ pages) are dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from medkb.ingest.parse import Block

MAX_HEADING_WORDS = 12
MAX_HEADING_CHARS = 100
#: A line shorter than this share of a full line, ending a sentence, ends its paragraph.
SHORT_LINE_SHARE = 0.8
#: Full lines are at least this long, so that short documents still get paragraph breaks.
MIN_FULL_WIDTH = 60
#: Lines repeated at a page edge on at least this share of pages are running headers.
RUNNING_SHARE = 0.6

_MINOR_WORDS = frozenset(
    ("a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "nor", "of", "on",
     "or", "per", "than", "the", "to", "via", "vs", "with")
)  # fmt: skip
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_BULLET = re.compile(r"^(?:[-*•◦▪·–]\s|\d{1,2}[.)]\s|(?:Q|A|Question|Answer)\s*:)")
_SENTENCE_END = re.compile(r"[.!?:][\"'’”)\]]*$")
_PAGE_NUMBER = re.compile(
    r"^(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–]\s*\d{1,4}\s*[-–]$", re.IGNORECASE
)
_ATX = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_SETEXT = re.compile(r"^(?:=+|-+)$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Line:
    """One line of text; ``level`` marks a line already known to be a heading."""

    text: str
    page: int | None = None
    level: int | None = None


def heading_level(text: str) -> int | None:
    """2 for an ALL CAPS heading-like line, 3 for Title Case, None for anything else."""
    words = _WORD.findall(text)
    if not words or not _heading_shaped(text):
        return None
    letters = [char for char in text if char.isalpha()]
    if len(letters) >= 2 and not any(char.islower() for char in letters):
        return 2
    significant = [word for word in words if word.lower() not in _MINOR_WORDS]
    if words[0][0].isupper() and all(word[0].isupper() for word in significant):
        return 3
    return None


def page_lines(pages: Sequence[str]) -> list[Line]:
    """The lines of extracted PDF pages, numbered from 1, without running headers/footers."""
    split = [[_SPACES.sub(" ", line).strip() for line in page.splitlines()] for page in pages]
    split = [[line for line in lines if line] for lines in split]
    running = _running_lines(split)
    return [
        Line(line, page=number)
        for number, lines in enumerate(split, start=1)
        for position, line in enumerate(lines)
        if not _PAGE_NUMBER.match(line) and not _is_running(line, position, lines, running)
    ]


def text_lines(text: str) -> list[Line]:
    """The lines of a plain text file, with Markdown-style headings marked."""
    raw = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    lines: list[Line] = []
    index = 0
    while index < len(raw):
        line, following = raw[index], raw[index + 1] if index + 1 < len(raw) else ""
        atx = _ATX.match(line)
        if line and _SETEXT.match(following) and len(following) >= 3:
            lines.append(Line(line, level=1 if following[0] == "=" else 2))
            index += 1
        elif atx:
            lines.append(Line(atx.group(2), level=len(atx.group(1))))
        else:
            lines.append(Line(line))
        index += 1
    return lines


def lines_to_blocks(lines: Sequence[Line]) -> list[Block]:
    """Group lines into headings and paragraphs (see the module docstring)."""
    builder = _Builder(_full_width(lines))
    for index, line in enumerate(lines):
        builder.feed(line, has_more=any(later.text for later in lines[index + 1 : index + 4]))
    builder.flush()
    return builder.blocks


class _Builder:
    def __init__(self, width: int) -> None:
        self.width = width
        self.blocks: list[Block] = []
        self.paragraph: list[Line] = []

    def feed(self, line: Line, *, has_more: bool) -> None:
        if not line.text:
            self.flush()
            return
        level = line.level if line.level is not None else self._heading_level(line, has_more)
        if level is not None:
            self.flush()
            self.blocks.append(Block("heading", line.text.rstrip(" :"), level, line.page))
            return
        if _BULLET.match(line.text):
            self.flush()
        self.paragraph.append(line)
        if _SENTENCE_END.search(line.text) and len(line.text) < SHORT_LINE_SHARE * self.width:
            self.flush()

    def flush(self) -> None:
        if self.paragraph:
            text = _join(line.text for line in self.paragraph)
            self.blocks.append(Block("paragraph", text, page=self.paragraph[0].page))
            self.paragraph = []

    def _heading_level(self, line: Line, has_more: bool) -> int | None:
        open_sentence = self.paragraph and not _SENTENCE_END.search(self.paragraph[-1].text)
        if open_sentence or not has_more:
            return None
        level = heading_level(line.text)
        if level is not None and not self.blocks:
            return 1
        return level


def _heading_shaped(text: str) -> bool:
    return (
        2 <= len(text) <= MAX_HEADING_CHARS
        and len(text.split()) <= MAX_HEADING_WORDS
        and text[-1] not in ".,;!?"
        and not _BULLET.match(text)
    )


def _join(lines: Iterable[str]) -> str:
    text = ""
    for line in lines:
        if text.endswith("-") and len(text) > 1 and text[-2].isalpha() and line[:1].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}" if text else line
    return text


def _full_width(lines: Sequence[Line]) -> int:
    """The length of a full line: the longest line, or MIN_FULL_WIDTH if that is shorter."""
    return max([MIN_FULL_WIDTH, *(len(line.text) for line in lines)])


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower())


def _running_lines(pages: Sequence[Sequence[str]]) -> set[str]:
    """Shapes of lines seen at a page edge (2 first, 2 last lines) on most pages."""
    if len(pages) < 3:
        return set()
    counts = Counter(
        shape for lines in pages for shape in {_shape(line) for line in [*lines[:2], *lines[-2:]]}
    )
    return {shape for shape, count in counts.items() if count >= RUNNING_SHARE * len(pages)}


def _is_running(line: str, position: int, lines: Sequence[str], running: set[str]) -> bool:
    at_edge = position < 2 or position >= len(lines) - 2
    return at_edge and _shape(line) in running
