"""File formats → loaders, and the entry points: iter_files, load_file, load_bytes.

Loader modules are imported on first use, so reading JSONL never imports pypdf.
"""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from medkb.errors import InputError, UnreadableDocument
from medkb.ingest.loaders.base import Loader, Overlong, ParsedDocument, SourceFile, empty

_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Format:
    """A file format: its ``source_type``, media type and loader (``"module:function"``)."""

    source_type: str
    media_type: str
    loader: str


FORMATS: dict[str, Format] = {
    ".jsonl": Format("jsonl", "application/x-ndjson", "jsonl:load_jsonl"),
    ".ndjson": Format("jsonl", "application/x-ndjson", "jsonl:load_jsonl"),
    ".json": Format("json", "application/json", "jsonl:load_json"),
    ".csv": Format("csv", "text/csv", "csv_rows:load_csv"),
    ".tsv": Format("tsv", "text/tab-separated-values", "csv_rows:load_tsv"),
    ".xml": Format("xml", "application/xml", "medquad:load_medquad"),
    ".pdf": Format("pdf", "application/pdf", "pdf:load_pdf"),
    ".docx": Format("docx", _DOCX, "word:load_docx"),
    ".html": Format("html", "text/html", "web:load_html"),
    ".htm": Format("html", "text/html", "web:load_html"),
    ".md": Format("markdown", "text/markdown", "markdown:load_markdown"),
    ".markdown": Format("markdown", "text/markdown", "markdown:load_markdown"),
    ".txt": Format("text", "text/plain", "plaintext:load_text"),
}
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(sorted(FORMATS))


def format_for(path: Path) -> Format:
    """The format of a file, by extension (any case); UnreadableDocument if unsupported."""
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise UnreadableDocument(
            f"Cannot read {path.name}: medkb does not read '{path.suffix or 'extensionless'}' "
            f"files. Convert it to one of: {', '.join(SUPPORTED_EXTENSIONS)}."
        )
    return found


#: Largest file :func:`load_file` reads unless told otherwise (``MEDKB_INGEST__MAX_FILE_MB``).
DEFAULT_MAX_BYTES = 100_000_000


def load_file(
    path: Path,
    *,
    overlong: Overlong = "keep",
    document: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    namespace: str = "",
) -> ParsedDocument:
    """Read a file and turn it into Q&A pairs, picking the loader by extension.

    Args:
        path: a file with one of :data:`SUPPORTED_EXTENSIONS`.
        overlong: for structured rows (JSONL/JSON/CSV/XML) over the SPEC limits (5,000 /
            10,000 characters): ``"keep"`` (default) keeps them whole, ``"error"`` raises
            FieldTooLong, ``"truncate"`` cuts and warns (see :data:`.base.Overlong`). Free
            documents always split an over-long section into ``(part N)`` pairs.
        document: the document id (default: the file name); see :func:`iter_documents`.
        namespace: the ingesting tenant's id namespace (:func:`.ids.id_namespace`).
        max_bytes: a larger file is refused before it is read.

    Raises:
        InputError: the path does not exist or is a folder.
        UnreadableDocument: unsupported extension, a file over ``max_bytes``, or a corrupt
            file (names the line).
        EmptyDocument: the file has no text or no pairs.
        FieldTooLong: a structured row is over the limits for ``overlong``.
    """
    if path.is_dir():
        raise InputError(f"{path} is a folder; use iter_files to list the documents in it.")
    format_for(path)
    try:
        _check_size(path, max_bytes)
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"No such file: {path}. Check the path and try again.") from exc
    except OSError as exc:
        raise UnreadableDocument(
            f"Cannot read {path}: {exc.strerror}. Check the file's permissions."
        ) from exc
    return load_bytes(raw, name=path, overlong=overlong, document=document, namespace=namespace)


def _check_size(path: Path, max_bytes: int) -> None:
    found = path.stat()
    if not stat.S_ISREG(found.st_mode):  # a device or pipe could be endless
        raise UnreadableDocument(
            f"Cannot read {path.name}: it is not a regular file (a device, pipe or socket). "
            "Copy its content into a file and ingest that."
        )
    size = found.st_size
    if size > max_bytes:
        raise UnreadableDocument(
            f"Cannot read {path.name}: it is {size / 1e6:.0f} MB, over the {max_bytes / 1e6:g} MB "
            "limit for one file. Split it into smaller files, or raise the limit with "
            "MEDKB_INGEST__MAX_FILE_MB."
        )


def load_bytes(
    raw: bytes,
    *,
    name: str | Path,
    overlong: Overlong = "keep",
    document: str | None = None,
    namespace: str = "",
) -> ParsedDocument:
    """Turn an uploaded file's bytes into Q&A pairs; ``name`` gives the format and citations.

    Same rules and errors as :func:`load_file`, e.g.
    ``load_bytes(data, name="faq.pdf")``; ``document`` defaults to the file name.
    """
    path = Path(name)
    found = format_for(path)
    source = SourceFile(path, raw, found.source_type, overlong, document or path.name, namespace)
    if not raw or raw.isspace():
        raise empty(source, "is empty", "Check the upload or export finished.")
    loaded = _loader(found)(source)
    return ParsedDocument(
        path=path,
        media_type=found.media_type,
        raw=raw,
        pairs=loaded.pairs,
        skipped=loaded.skipped,
        warnings=loaded.warnings,
        title=loaded.title,
        document=source.document,
        skip_file=loaded.skip_file,
    )


@dataclass(frozen=True)
class FoundFile:
    """A file to ingest and its document id; ``skip``: why it is left out, if it is."""

    path: Path
    document: str
    skip: str | None = None


def iter_documents(paths: Sequence[Path], *, source_id: str | None = None) -> Iterator[FoundFile]:
    """The files to ingest with their document ids, and the files left out of folders.

    A document's id is what identifies it across ingests (its pairs' source, part of free
    documents' pair ids, the scope of removing pairs a new version no longer has):

    - a file given by itself: its name (``faq.md``), or ``source_id`` when given;
    - a file found in a folder: the folder's own name, then its path inside the folder
      (``docs/cardio/faq.md`` for ``docs/``, ``/srv/docs`` or ``.`` run inside ``docs``),
      so it does not depend on the working directory; with ``source_id``, that replaces
      the folder's name (``kb1/cardio/faq.md``).

    Folders are walked recursively, their files sorted by path, skipping hidden files and
    folders (names starting with ``.``), Office lock files (``~$…``) and unsupported
    extensions. Files that describe a data set rather than hold its content (README*,
    LICENSE*, LICENCE*, COPYING*, NOTICE*, CHANGELOG*) are yielded with ``skip`` set. A
    file reached twice is yielded once.

    Raises:
        InputError: a path does not exist.
    """
    seen: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise InputError(f"No such file or folder: {path}. Check the path and try again.")
        for found in _documents(path, source_id):
            if found.path.resolve() not in seen:
                seen.add(found.path.resolve())
                yield found


def iter_files(paths: Sequence[Path]) -> Iterator[Path]:
    """The files :func:`iter_documents` would ingest, without their document ids."""
    return (found.path for found in iter_documents(paths) if found.skip is None)


#: File names (before the first dot, any case) that describe a data set, not its content.
NON_CONTENT_NAMES = frozenset(("readme", "license", "licence", "copying", "notice", "changelog"))


def non_content(name: str) -> bool:
    """Whether a file name is one of :data:`NON_CONTENT_NAMES` (``LICENSE.txt``, ``README``)."""
    stem = name.split(".", 1)[0].lower()
    return stem in NON_CONTENT_NAMES or any(
        stem.startswith(prefix + sep) for prefix in NON_CONTENT_NAMES for sep in "-_"
    )


def _documents(path: Path, source_id: str | None) -> Iterator[FoundFile]:
    if not path.is_dir():
        yield FoundFile(path, source_id or path.name)
        return
    # abspath, not resolve: a symlinked folder ("current" → "release-7") keeps its own name
    base = source_id or Path(os.path.abspath(path)).name
    for found in sorted(_walk(path)):
        inside = found.relative_to(path).as_posix()
        document = f"{base}/{inside}" if base else inside
        skip = "not Q&A content (a README/LICENSE-style file)" if non_content(found.name) else None
        yield FoundFile(found, document, skip)


def _walk(folder: Path) -> Iterator[Path]:
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            if name.startswith((".", "~$")):
                continue
            if Path(name).suffix.lower() in FORMATS or non_content(name):
                yield Path(root) / name


def _loader(found: Format) -> Loader:
    module, function = found.loader.split(":")
    loader: Loader = getattr(importlib.import_module(f"{__package__}.{module}"), function)
    return loader
