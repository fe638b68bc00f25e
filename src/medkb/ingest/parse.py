"""Turn the structure of a free document into question/answer drafts. Pure: no I/O.

A loader reduces a document to a list of :class:`Block` (headings and paragraphs, with page
numbers where the format has them); :func:`parse_blocks` reads the blocks in order and
applies three rules, the first that fits winning:

1. **FAQ patterns.** A paragraph starting ``Q:`` / ``Question:`` opens a pair; its answer is
   the text after an inline ``A:`` / ``Answer:`` plus the paragraphs that follow (an ``A:``
   prefix on them is dropped). A heading ending in ``?``, or a one-line paragraph ending in
   ``?`` that is followed by a paragraph, opens a pair the same way. A question followed by
   another question or a heading has no answer and stays part of the text.
2. **Headings as questions.** Any other heading opens a section; its question is
   ``"<parent heading>: <heading>"`` (the parent being the enclosing heading, or the
   document title for a top-level heading), e.g. ``"Hypertension: Symptoms"``. Text before
   the first heading belongs to the document title.
3. **Chunks.** A document with neither FAQ pairs nor headings (other than its title) is cut
   into chunks of about 800–1,500 characters on paragraph boundaries, asked as
   ``"<title> (section N)"`` (just ``"<title>"`` when the whole text is one chunk).

A response longer than the limit is split on paragraph (then sentence) boundaries into
several drafts; the second is asked as ``"<question> (part 2)"`` and so on. No paragraph is
dropped: every paragraph ends up in a response or, for FAQ questions, in a question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from medkb.ingest.text import one_line, shorten, split_to_fit
from medkb.models import MAX_QUESTION_CHARS, MAX_RESPONSE_CHARS

CHUNK_MIN_CHARS = 800
CHUNK_MAX_CHARS = 1_500
#: A question line is at most this long; longer text ending in ``?`` is prose.
QUESTION_LINE_CHARS = 300
SECTION_SEPARATOR = " > "

_Q_PREFIX = re.compile(r"^(?:Q|QUESTION|Question)\s*:\s*")
_A_PREFIX = re.compile(r"^(?:A|ANSWER|Answer)\s*:\s*")
_INLINE_A = re.compile(r"\s(?:A|ANSWER|Answer)\s*:\s+")


@dataclass(frozen=True)
class Block:
    """One structural unit of a document: a heading (``level`` 1 = top) or a paragraph."""

    kind: Literal["heading", "paragraph"]
    text: str
    level: int = 0
    page: int | None = None


@dataclass(frozen=True)
class Draft:
    """A question/answer pair found in a document, before ids and metadata."""

    question: str
    response: str
    section: str | None = None
    page: int | None = None


@dataclass
class _Section:
    question: str
    path: tuple[str, ...]
    page: int | None
    faq: bool = False
    body: list[Block] = field(default_factory=list)


def parse_blocks(
    blocks: Sequence[Block],
    *,
    title: str,
    limit: int = MAX_RESPONSE_CHARS,
    question_limit: int = MAX_QUESTION_CHARS,
) -> list[Draft]:
    """Parse a document's blocks into drafts (see the module docstring for the rules).

    Args:
        blocks: the document's headings and paragraphs in reading order.
        title: the document title, used for text outside any section and for chunks.
        limit: the longest response; longer sections become several ``(part N)`` drafts.
        question_limit: the longest question; longer ones are shortened.
    """
    sections = _Walker(title).walk(blocks)
    headed = any(block.kind == "heading" and one_line(block.text) != title for block in blocks)
    if not headed and not any(section.faq for section in sections):
        sections = _chunks(sections, title)
    drafts = [draft for section in sections for draft in _split(section, limit)]
    return [_fit_question(draft, question_limit) for draft in drafts]


def heading_question(path: Sequence[str], title: str) -> str:
    """The question a heading asks: ``"<parent>: <heading>"``, or the heading if it is one."""
    heading = path[-1]
    if heading.endswith("?"):
        return heading
    parent = path[-2] if len(path) > 1 else title
    return f"{parent}: {heading}" if parent and parent != heading else heading


def faq_question(text: str) -> tuple[str, str] | None:
    """Split a ``Q: …`` paragraph into (question, inline answer); None if it is not one."""
    match = _Q_PREFIX.match(text)
    if not match:
        return None
    rest = text[match.end() :]
    answer = _INLINE_A.search(rest)
    if answer is None:
        return one_line(rest), ""
    return one_line(rest[: answer.start()]), rest[answer.end() :].strip()


def is_question_line(text: str) -> bool:
    """Whether a paragraph is a lone question (one short line ending in ``?``)."""
    return "\n" not in text.strip() and len(text) <= QUESTION_LINE_CHARS and text.endswith("?")


def _is_answer(block: Block) -> bool:
    """Whether a block can answer the question before it: a paragraph, not a question."""
    text = block.text.strip()
    return block.kind == "paragraph" and not _Q_PREFIX.match(text) and not is_question_line(text)


class _Walker:
    """Reads blocks in order and groups them into sections (rules 1 and 2)."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.headings: list[tuple[int, str]] = []
        self.sections: list[_Section] = [_Section(title, (title,) if title else (), None)]

    def walk(self, blocks: Sequence[Block]) -> list[_Section]:
        for index, block in enumerate(blocks):
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            if block.kind == "heading":
                self._heading(block)
            else:
                self._paragraph(block, following)
        return [section for section in self.sections if section.body]

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(text for _, text in self.headings) or self.sections[0].path

    def _heading(self, block: Block) -> None:
        text = one_line(block.text)
        if not text:
            return
        self.headings = [(lvl, txt) for lvl, txt in self.headings if lvl < block.level]
        self.headings.append((block.level, text))
        question = heading_question(self.path, self.title)
        self.sections.append(_Section(question, self.path, block.page, faq=text.endswith("?")))

    def _paragraph(self, block: Block, following: Block | None) -> None:
        text = block.text.strip()
        faq = faq_question(text)
        answered = following is not None and _is_answer(following)
        if faq and (faq[1] or answered) and faq[0]:
            self._open_faq(faq[0], block.page, faq[1])
        elif is_question_line(text) and answered and not faq:
            self._open_faq(one_line(text), block.page, "")
        else:
            current = self.sections[-1]
            if current.faq:
                text = _A_PREFIX.sub("", text, count=1) or text
            current.body.append(Block("paragraph", text, page=block.page))

    def _open_faq(self, question: str, page: int | None, answer: str) -> None:
        section = _Section(question, self.path, page, faq=True)
        if answer:
            section.body.append(Block("paragraph", answer, page=page))
        self.sections.append(section)


def _chunks(sections: Sequence[_Section], title: str) -> list[_Section]:
    """Rule 3: regroup all paragraphs into chunks of about 800–1,500 characters."""
    pieces = [
        Block("paragraph", piece, page=block.page)
        for section in sections
        for block in section.body
        for piece in _pieces(block.text, CHUNK_MAX_CHARS)
    ]
    groups = _pack(pieces, CHUNK_MAX_CHARS, enough=CHUNK_MIN_CHARS)
    path = (title,) if title else ()
    return [
        _Section(
            f"{title} (section {number})" if len(groups) > 1 else title,
            path,
            group[0].page,
            body=group,
        )
        for number, group in enumerate(groups, start=1)
    ]


def _split(section: _Section, limit: int) -> list[Draft]:
    """One draft per part of a section whose response would exceed ``limit``."""
    pieces = [
        Block("paragraph", piece, page=block.page)
        for block in section.body
        for piece in _pieces(block.text, limit)
    ]
    parts = _pack(pieces, limit, enough=limit)
    where = SECTION_SEPARATOR.join(section.path) or None
    return [
        Draft(
            question=section.question if number == 1 else f"{section.question} (part {number})",
            response="\n\n".join(block.text for block in part),
            section=where,
            page=part[0].page if part[0].page is not None else section.page,
        )
        for number, part in enumerate(parts, start=1)
    ]


def _pieces(text: str, limit: int) -> list[str]:
    """A paragraph as is, or split into sentence-aligned pieces when over ``limit``."""
    return [text] if len(text) <= limit else split_to_fit(text, limit)


def _pack(blocks: Sequence[Block], limit: int, *, enough: int) -> list[list[Block]]:
    """Group consecutive blocks, closing a group at ``enough`` chars, never over ``limit``.

    Blocks are joined by a blank line (2 characters), which counts towards the limit.
    """
    groups: list[list[Block]] = []
    size = 0
    for block in blocks:
        if groups and size < enough and size + 2 + len(block.text) <= limit:
            groups[-1].append(block)
            size += 2 + len(block.text)
        else:
            groups.append([block])
            size = len(block.text)
    return groups


def _fit_question(draft: Draft, limit: int) -> Draft:
    if len(draft.question) <= limit:
        return draft
    return Draft(shorten(draft.question, limit), draft.response, draft.section, draft.page)
