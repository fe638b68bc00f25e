"""PDF loader (pypdf): text per page, headings and paragraphs recovered heuristically.

Page numbers are the physical page (1 = first). See :mod:`medkb.ingest.layout` for how
headings, paragraphs and running headers are told apart. A page whose text cannot be
extracted is left out with a warning; a file pypdf cannot open at all is unreadable.
"""

from __future__ import annotations

import io

from pypdf import PdfReader
from pypdf.errors import DependencyError, PyPdfError

from medkb.ingest.layout import lines_to_blocks, page_lines
from medkb.ingest.loaders.base import Loaded, SourceFile, unreadable
from medkb.ingest.loaders.documents import Extracted, document_pairs
from medkb.ingest.metadata import DocInfo

#: What pypdf raises on damaged files besides its own errors.
_PDF_ERRORS = (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError)


def load_pdf(source: SourceFile) -> Loaded:
    """Load a PDF document."""
    return document_pairs(source, extract_pdf(source))


def extract_pdf(source: SourceFile) -> Extracted:
    """The blocks and properties of a PDF."""
    reader = _open(source)
    warnings: list[str] = []
    pages = [_page_text(reader, index, source, warnings) for index in range(len(reader.pages))]
    return Extracted(lines_to_blocks(page_lines(pages)), _info(reader), warnings)


def _open(source: SourceFile) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(source.raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise unreadable(source, "it is password-protected", "Remove the password first.")
        len(reader.pages)
    except DependencyError as exc:
        raise unreadable(
            source, f"it is encrypted ({exc})", "Install 'cryptography' or remove the encryption."
        ) from exc
    except _PDF_ERRORS as exc:
        raise unreadable(
            source,
            f"the PDF is damaged or truncated ({exc})",
            "Re-export or re-download the file and load it again.",
        ) from exc
    return reader


def _page_text(reader: PdfReader, index: int, source: SourceFile, warnings: list[str]) -> str:
    try:
        return reader.pages[index].extract_text()
    except _PDF_ERRORS as exc:
        warnings.append(f"{source.name} page {index + 1}: text not extractable ({exc}); left out")
        return ""


def _info(reader: PdfReader) -> DocInfo:
    try:
        metadata = reader.metadata
        language = reader.root_object.get("/Lang")
    except _PDF_ERRORS:
        return DocInfo()
    if metadata is None:
        return DocInfo(language=_str(language))
    return DocInfo(
        title=_str(metadata.get("/Title")),
        author=_str(metadata.get("/Author")),
        source=_str(metadata.get("/Source")),
        language=_str(language),
    )


def _str(value: object) -> str | None:
    resolve = getattr(value, "get_object", None)
    value = resolve() if callable(resolve) else value
    text = str(value).strip() if value is not None else ""
    return text or None
