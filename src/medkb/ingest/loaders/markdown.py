"""Markdown loader (markdown-it-py, CommonMark with tables).

Headings (``#`` or underlined) are headings; paragraphs, list items (prefixed ``- ``),
code blocks, table rows (cells joined by `` | ``) and the text of HTML blocks are
paragraphs. Inline markup is reduced to its text (a link to its label, an image to its
alt text). A leading front matter block (``---`` … ``---`` of ``key: value`` lines) may
give ``title``, ``author``, ``source``, ``date``, ``language``, ``category``, ``url`` and
``tags`` (comma-separated, brackets optional).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

from medkb.ingest.loaders.base import Loaded, SourceFile
from medkb.ingest.loaders.documents import Extracted, document_pairs
from medkb.ingest.loaders.plaintext import decode_text
from medkb.ingest.metadata import DocInfo
from medkb.ingest.parse import Block
from medkb.ingest.text import one_line

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)
_TAG = re.compile(r"<[^>]+>")


def load_markdown(source: SourceFile) -> Loaded:
    """Load a Markdown document."""
    text, warnings = decode_text(source)
    extracted = extract_markdown(text)
    extracted.warnings.extend(warnings)
    return document_pairs(source, extracted)


def extract_markdown(text: str) -> Extracted:
    """The blocks and front-matter metadata of a Markdown text."""
    front, body = split_front_matter(text)
    parser = MarkdownIt("commonmark").enable("table")
    return Extracted(list(_blocks(parser.parse(body))), _info(front))


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """(``key: value`` pairs of a leading ``---`` block, the rest of the text)."""
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        return {}, text
    pairs = (line.split(":", 1) for line in match.group(1).splitlines() if ":" in line)
    front = {key.strip().lower(): value.strip().strip("\"'") for key, value in pairs}
    return front, text.lstrip("\ufeff")[match.end() :]


def _blocks(tokens: Sequence[Token]) -> Iterator[Block]:
    opener: Token | None = None
    in_item = False
    cells: list[str] = []
    for token in tokens:
        if token.type == "inline" and opener is not None:
            text = _inline_text(token)
            if opener.type == "heading_open":
                yield Block("heading", one_line(text), int(opener.tag[1:]))
            elif opener.type in ("th_open", "td_open"):
                cells.append(one_line(text))
            elif text.strip():
                yield Block("paragraph", ("- " if in_item else "") + text.strip())
                in_item = False
        elif token.type == "tr_close":
            if any(cells):
                yield Block("paragraph", " | ".join(cell for cell in cells if cell))
            cells = []
        elif token.type in ("fence", "code_block", "html_block"):
            text = _TAG.sub(" ", token.content) if token.type == "html_block" else token.content
            if text.strip():
                yield Block("paragraph", text.strip())
        elif token.nesting == 1:
            opener = token
            in_item = in_item or token.type == "list_item_open"


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(_inline_text(child))
    return "".join(parts)


def _info(front: dict[str, str]) -> DocInfo:
    tags = front.get("tags", "").strip("[]")
    return DocInfo(
        title=front.get("title") or None,
        author=front.get("author") or None,
        source=front.get("source") or None,
        published=front.get("date") or front.get("published") or None,
        language=front.get("language") or front.get("lang") or None,
        category=front.get("category") or None,
        url=front.get("url") or None,
        tags=[tag.strip().strip("\"'") for tag in tags.split(",") if tag.strip()],
    )
