"""Ingesting files: load → keep the raw file → write the pairs in batches.

A file that cannot be read is reported and skipped; the other files still go in. Each
batch is one transaction, so a failure never leaves half a batch behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medkb.errors import InputError, MedkbError, UnreadableDocument
from medkb.ingest.loaders import Overlong, ParsedDocument, format_for, iter_files, load_file
from medkb.ingest.loaders.registry import DEFAULT_MAX_BYTES
from medkb.ingest.writer import Writer, WriteResult
from medkb.models import QAPair
from medkb.stores.objects.base import ObjectStore

#: Formats whose pairs are all re-derived from the file on each ingest: pairs a new version
#: of the file no longer yields are deleted. Structured Q&A files only ever add or update.
FREE_DOCUMENTS = frozenset({"pdf", "docx", "html", "markdown", "text"})

#: Called with (pairs done, pairs known so far, current file name).
Progress = Callable[[int, int, str], None]


@dataclass
class FileError:
    """A file that could not be ingested, and why."""

    path: str
    error: str
    kind: str


@dataclass
class IngestReport:
    """The outcome of one ingest run."""

    files: int = 0
    pairs: int = 0
    result: WriteResult = field(default_factory=WriteResult)
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "pairs": self.pairs,
            "created": len(self.result.created),
            "updated": len(self.result.updated),
            "unchanged": len(self.result.unchanged),
            "removed": len(self.result.deleted),
            "skipped": self.skipped,
            "warnings": self.warnings,
            "errors": [vars(error) for error in self.errors],
        }


def raw_key(path: Path, data: bytes) -> str:
    """Object key of an uploaded file: content-addressed, keeping the file name."""
    return f"raw/{hashlib.sha256(data).hexdigest()[:32]}/{path.name}"


class Ingestor:
    """Feeds files through loaders into a :class:`Writer`."""

    def __init__(
        self,
        *,
        writer: Writer,
        objects: ObjectStore,
        batch_size: int,
        max_file_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.writer, self.objects, self.batch_size = writer, objects, batch_size
        self.max_file_bytes = max_file_bytes

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        progress: Progress | None = None,
        overlong: Overlong = "error",
    ) -> IngestReport:
        """Ingest files and folders; errors per file are collected, not raised.

        ``overlong="truncate"`` cuts structured rows over the SPEC field limits (with a
        warning) instead of refusing their file.
        """
        report = IngestReport()
        files = list(iter_files(paths))
        for path in files:
            try:
                document = self._load(path, overlong)
                self._store_raw(document)
                self._write(document, report, progress)
                self._remove_stale(document, report)
            except InputError as exc:
                report.errors.append(FileError(str(path), str(exc), type(exc).__name__))
            report.files += 1
        return report

    def _load(self, path: Path, overlong: Overlong) -> ParsedDocument:
        """Load one file; a parser library failing in a way medkb did not foresee makes
        the file unreadable rather than stopping the whole run (loading writes nothing)."""
        try:
            return load_file(path, overlong=overlong, max_bytes=self.max_file_bytes)
        except MedkbError:
            raise
        except Exception as exc:
            detail = (str(exc).strip().splitlines() or [""])[0][:200]
            raise UnreadableDocument(
                f"Cannot read {path.name}: its reader failed ({type(exc).__name__}: "
                f"{detail}). The file is probably damaged or not what its extension says; "
                "save it again or convert it, and ingest it again."
            ) from exc

    def ingest_pairs(self, batch: Sequence[QAPair]) -> WriteResult:
        """Write already-built pairs (the Python API's ``kb.add``)."""
        result = WriteResult()
        for start in range(0, len(batch), self.batch_size):
            result.merge(self.writer.upsert(batch[start : start + self.batch_size]))
        return result

    def _store_raw(self, document: ParsedDocument) -> None:
        key = raw_key(document.path, document.raw)
        if not self.objects.exists(key):
            self.objects.put(key, document.raw)
        for pair in document.pairs:
            for source in pair.sources:
                source.object_key = source.object_key or key

    def _remove_stale(self, document: ParsedDocument, report: IngestReport) -> None:
        """Delete pairs an earlier version of this free document had and this one lacks."""
        source_type = format_for(document.path).source_type
        if source_type not in FREE_DOCUMENTS:
            return
        known = self.writer.ids_from_document(document.path.name, source_type=source_type)
        stale = known - {pair.id for pair in document.pairs}
        if stale:
            report.result.merge(self.writer.delete(sorted(stale)))

    def _write(
        self, document: ParsedDocument, report: IngestReport, progress: Progress | None
    ) -> None:
        report.skipped += document.skipped
        report.warnings.extend(document.warnings)
        total = report.pairs + len(document.pairs)
        for start in range(0, len(document.pairs), self.batch_size):
            batch = document.pairs[start : start + self.batch_size]
            try:
                report.result.merge(self.writer.upsert(batch))
            except MedkbError as exc:
                exc.add_note(
                    f"while ingesting {document.path} (pairs {start + 1}–{start + len(batch)})"
                )
                raise
            report.pairs += len(batch)
            if progress is not None:
                progress(report.pairs, total, document.path.name)
