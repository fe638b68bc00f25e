"""Plain text loader: paragraphs at blank lines, headings found heuristically.

See :mod:`medkb.ingest.layout` for the heading and paragraph rules. Text is read as UTF-8
(a BOM is fine) or UTF-16 with a BOM, else as Windows-1252 with a warning; a file with NUL
bytes is binary, not text (UTF-16 without a BOM is told apart, to say how to fix it).
"""

from __future__ import annotations

import codecs

from medkb.ingest.layout import lines_to_blocks, text_lines
from medkb.ingest.loaders.base import Loaded, SourceFile, unreadable
from medkb.ingest.loaders.documents import Extracted, document_pairs

_SNIFF_BYTES = 8192
_SAVE_AS_UTF8 = "Save it as UTF-8 (in most editors: Save As, encoding UTF-8) and load it again."


def load_text(source: SourceFile) -> Loaded:
    """Load a plain text document."""
    text, warnings = decode_text(source)
    return document_pairs(source, Extracted(lines_to_blocks(text_lines(text)), warnings=warnings))


def decode_text(source: SourceFile) -> tuple[str, list[str]]:
    """The file's text and any warning: UTF-8, UTF-16 with a BOM, else Windows-1252;
    binary (and UTF-16 without a BOM) is unreadable."""
    if source.raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return source.raw.decode("utf-16"), []
        except UnicodeDecodeError as exc:
            raise unreadable(source, f"it is not valid UTF-16 ({exc})", _SAVE_AS_UTF8) from exc
    head = source.raw[:_SNIFF_BYTES]
    if b"\x00" in head:
        if _looks_like_utf16(head):
            raise unreadable(source, "it is UTF-16 text without a byte-order mark", _SAVE_AS_UTF8)
        raise unreadable(
            source, "it contains binary data", "Give a text file, or use the loader for its format."
        )
    try:
        return source.raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        warning = f"{source.name} is not UTF-8 ({exc}); read as Windows-1252"
        return source.raw.decode("cp1252", errors="replace"), [warning]


def _looks_like_utf16(head: bytes) -> bool:
    """Whether NULs sit in every other byte, as in mostly-ASCII UTF-16 text."""
    half = len(head) // 2
    return half > 0 and max(head[0::2].count(0), head[1::2].count(0)) >= 0.9 * half
