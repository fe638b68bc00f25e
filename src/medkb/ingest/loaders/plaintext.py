"""Plain text loader: paragraphs at blank lines, headings found heuristically.

See :mod:`medkb.ingest.layout` for the heading and paragraph rules. Text is read as UTF-8
(a BOM is fine), else as Windows-1252 with a warning; a file with NUL bytes is binary,
not text.
"""

from __future__ import annotations

from medkb.ingest.layout import lines_to_blocks, text_lines
from medkb.ingest.loaders.base import Loaded, SourceFile, unreadable
from medkb.ingest.loaders.documents import Extracted, document_pairs

_SNIFF_BYTES = 8192


def load_text(source: SourceFile) -> Loaded:
    """Load a plain text document."""
    text, warnings = decode_text(source)
    return document_pairs(source, Extracted(lines_to_blocks(text_lines(text)), warnings=warnings))


def decode_text(source: SourceFile) -> tuple[str, list[str]]:
    """The file's text and any warning: UTF-8, else Windows-1252; binary is unreadable."""
    if b"\x00" in source.raw[:_SNIFF_BYTES]:
        raise unreadable(
            source, "it contains binary data", "Give a text file, or use the loader for its format."
        )
    try:
        return source.raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        warning = f"{source.name} is not UTF-8 ({exc}); read as Windows-1252"
        return source.raw.decode("cp1252", errors="replace"), [warning]
