"""Checks on an Office Open XML package (.docx) before python-docx parses it.

A .docx is a zip of XML parts, and both layers can be turned against a reader: a zip bomb
(a 600 KB file whose ``word/document.xml`` unpacks to 400 MB took 35 s and 9 GB of memory
before failing with a traceback) and XML entity tricks (the "billion laughs" expansion, an
external entity reading ``file:///etc/passwd``). python-docx's lxml parser does not resolve
entities, but medkb does not rely on that alone: :func:`check_package` reads the zip's
directory, then streams each XML part (bounded by the limits below), and refuses

* more than :data:`MAX_PARTS` parts, or more than :data:`MAX_UNPACKED_BYTES` unpacked;
* an XML part over :data:`MAX_XML_PART_BYTES`, or one compressed more than
  :data:`MAX_RATIO` to 1 (real Word XML stays under 30 to 1; a bomb is in the hundreds);
* a ``<!DOCTYPE`` in any XML part: Word never writes one, and it is where entities live.

The sizes checked are those the zip declares; Python's zipfile never unpacks more than
that (a part that would is a CRC error), so they bound what python-docx reads afterwards.
"""

from __future__ import annotations

import zipfile

from medkb.ingest.loaders.base import SourceFile, unreadable

MAX_PARTS = 5_000
MAX_UNPACKED_BYTES = 512 * 2**20
MAX_XML_PART_BYTES = 32 * 2**20
MAX_RATIO = 100
#: Parts smaller than this are not held to MAX_RATIO (tiny XML compresses unpredictably).
_RATIO_FLOOR = 2**20
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_CHUNK = 2**20
_DOCTYPES = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))

_HINT = "Save it again from Word or LibreOffice; medkb refuses packages that could be bombs."


def check_package(source: SourceFile, package: zipfile.ZipFile) -> None:
    """Refuse a package whose size, compression or XML prolog is unsafe to parse.

    Raises:
        UnreadableDocument: names the file and the limit it breaks.
    """
    parts = package.infolist()
    if len(parts) > MAX_PARTS:
        raise unreadable(source, f"its zip holds {len(parts)} parts (limit {MAX_PARTS})", _HINT)
    unpacked = sum(part.file_size for part in parts)
    if unpacked > MAX_UNPACKED_BYTES:
        raise unreadable(
            source, f"it unpacks to {_mib(unpacked)} (limit {_mib(MAX_UNPACKED_BYTES)})", _HINT
        )
    for part in parts:
        if part.filename.lower().endswith(_XML_SUFFIXES):
            _check_xml_part(source, package, part)


def _check_xml_part(source: SourceFile, package: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
    if part.file_size > MAX_XML_PART_BYTES:
        raise unreadable(
            source,
            f"its part {part.filename} unpacks to {_mib(part.file_size)} "
            f"(limit {_mib(MAX_XML_PART_BYTES)})",
            _HINT,
        )
    ratio = part.file_size / max(part.compress_size, 1)
    if part.file_size > _RATIO_FLOOR and ratio > MAX_RATIO:
        raise unreadable(
            source,
            f"its part {part.filename} is compressed {ratio:.0f} to 1 (a zip bomb; real "
            f"documents stay under {MAX_RATIO} to 1)",
            _HINT,
        )
    if _has_doctype(package, part):
        raise unreadable(
            source,
            f"its part {part.filename} has a <!DOCTYPE> (XML entities can expand into "
            "gigabytes or read other files; Word never writes one)",
            _HINT,
        )


def _has_doctype(package: zipfile.ZipFile, part: zipfile.ZipInfo) -> bool:
    """Whether the part holds ``<!DOCTYPE`` (in UTF-8 or UTF-16), read in bounded chunks."""
    overlap = max(len(doctype) for doctype in _DOCTYPES)
    tail = b""
    with package.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            window = tail + chunk
            if any(doctype in window for doctype in _DOCTYPES):
                return True
            tail = window[-overlap:]
    return False


def _mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"
