"""DOCX loader (python-docx): styles give headings, page breaks give page numbers.

- ``Title`` style → the title heading (level 0); ``Heading N`` → level N; a short paragraph
  that is bold throughout and looks like a heading → level 9 (below any styled heading).
- List-style paragraphs get a ``- `` prefix; each table row becomes one paragraph,
  cells joined by `` | ``.
- Pages: counted from the page breaks Word records when it lays out the document
  (``lastRenderedPageBreak``), else from explicit page breaks; a document with neither
  has no page numbers.
- Properties: title, author (except python-docx's default ``python-docx``), language,
  category and keywords (as tags).
- Untrusted: the zip and its XML are checked first (:mod:`.ooxml`: size, compression
  ratio, no ``<!DOCTYPE>``), so a zip bomb or an entity bomb is refused in milliseconds.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator

import docx
from docx.document import Document
from docx.opc.exceptions import OpcError
from docx.table import Table
from docx.text.paragraph import Paragraph

from medkb.ingest.layout import heading_level
from medkb.ingest.loaders.base import Loaded, SourceFile, unreadable
from medkb.ingest.loaders.documents import Extracted, document_pairs
from medkb.ingest.loaders.ooxml import check_package
from medkb.ingest.metadata import DocInfo
from medkb.ingest.parse import Block
from medkb.ingest.text import one_line

BOLD_HEADING_LEVEL = 9
_HEADING_STYLE = re.compile(r"^Heading (\d)$")
_DEFAULT_AUTHORS = frozenset(("python-docx", ""))
_DOCX_ERRORS = (
    OpcError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    KeyError,
    ValueError,
    SyntaxError,
)


def load_docx(source: SourceFile) -> Loaded:
    """Load a Word (.docx) document."""
    return document_pairs(source, extract_docx(source))


def extract_docx(source: SourceFile) -> Extracted:
    """The blocks and properties of a .docx file."""
    try:
        with zipfile.ZipFile(io.BytesIO(source.raw)) as package:
            check_package(source, package)
        document = docx.Document(io.BytesIO(source.raw))
        items = list(_items(document))
    except _DOCX_ERRORS as exc:
        raise unreadable(
            source,
            f"it is not a valid Word document ({exc})",
            "Save it from Word (or LibreOffice) as .docx and load it again; .doc is not read.",
        ) from exc
    rendered = any(breaks for _, _, breaks in items)
    blocks: list[Block] = []
    page = 1
    for block, explicit, breaks in items:
        if block is not None:
            blocks.append(Block(block.kind, block.text, block.level, page))
        page += breaks if rendered else explicit
    if not rendered and page == 1:
        blocks = [Block(block.kind, block.text, block.level) for block in blocks]
    return Extracted(blocks, _info(document))


def _items(document: Document) -> Iterator[tuple[Block | None, int, int]]:
    """(block or None, explicit page breaks, rendered page breaks) in document order."""
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in _table_rows(item):
                yield Block("paragraph", row), 0, 0
            continue
        explicit = len(item._p.xpath("./w:r/w:br[@w:type='page']"))
        yield _paragraph_block(item), explicit, len(item.rendered_page_breaks)


def _paragraph_block(paragraph: Paragraph) -> Block | None:
    text = paragraph.text.strip()
    if not text:
        return None
    style = paragraph.style.name if paragraph.style is not None else ""
    match = _HEADING_STYLE.match(style or "")
    if style == "Title":
        return Block("heading", one_line(text), 0)
    if match:
        return Block("heading", one_line(text), int(match.group(1)))
    if _bold_heading(paragraph, text):
        return Block("heading", one_line(text), BOLD_HEADING_LEVEL)
    prefix = "- " if (style or "").startswith("List") else ""
    return Block("paragraph", prefix + text)


def _bold_heading(paragraph: Paragraph, text: str) -> bool:
    runs = [run for run in paragraph.runs if run.text.strip()]
    looks_like = heading_level(text) is not None or (text.endswith("?") and len(text) < 150)
    return bool(runs) and all(run.bold for run in runs) and looks_like and "\n" not in text


def _table_rows(table: Table) -> Iterator[str]:
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = one_line(cell.text)
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            yield " | ".join(cells)


def _info(document: Document) -> DocInfo:
    properties = document.core_properties
    author = (properties.author or "").strip()
    keywords = re.split(r"[,;]", properties.keywords or "")
    return DocInfo(
        title=(properties.title or "").strip() or None,
        author=None if author in _DEFAULT_AUTHORS else author,
        language=(properties.language or "").strip() or None,
        category=(properties.category or "").strip() or None,
        tags=[keyword.strip() for keyword in keywords if keyword.strip()],
    )
