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
from medkb.ingest.ids import id_namespace
from medkb.ingest.loaders import (
    FoundFile,
    Overlong,
    ParsedDocument,
    format_for,
    iter_documents,
    load_file,
)
from medkb.ingest.loaders.registry import DEFAULT_MAX_BYTES
from medkb.ingest.writer import Writer, WriteResult, check_lengths
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
class SkippedFile:
    """A file left out on purpose (a README/LICENSE beside data files, a MedQuAD file with
    nothing to load), and why."""

    path: str
    reason: str


@dataclass
class IngestReport:
    """The outcome of one ingest run.

    ``files`` counts the files read (ingested or failed); ``skipped_files`` are not in it.
    """

    files: int = 0
    pairs: int = 0
    result: WriteResult = field(default_factory=WriteResult)
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    skipped_files: list[SkippedFile] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "failed_files": len(self.errors),
            "skipped_files": [vars(skipped) for skipped in self.skipped_files],
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
    """Object key of an uploaded file: content-addressed, keeping the file name.

    The hash makes the key unique per content, so same-named files in different folders
    never share a key (equal bytes share one object, which is what they are).
    """
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
        overlong: Overlong = "keep",
        source_id: str | None = None,
    ) -> IngestReport:
        """Ingest files and folders; errors per file are collected, not raised.

        Each file is one document, identified by its path relative to the folder ingested
        (or ``source_id``; see :func:`~medkb.ingest.loaders.iter_documents`). A file is
        checked whole before any of its pairs is written, and re-ingesting a free document
        removes only the pairs of that same document that it no longer yields.
        ``overlong``: see :data:`~medkb.ingest.loaders.Overlong`.
        """
        report = IngestReport()
        claimed: dict[str, Path] = {}
        for found in list(iter_documents(paths, source_id=source_id)):
            if found.skip is not None:
                report.skipped_files.append(SkippedFile(str(found.path), found.skip))
                continue
            try:
                _claim(found, claimed)
                document = self._load(found, overlong)
                if document.skip_file is not None:
                    report.skipped_files.append(SkippedFile(str(found.path), document.skip_file))
                    report.warnings.extend(document.warnings)
                    continue
                self._ingest_document(document, report, progress)
            except InputError as exc:
                report.errors.append(FileError(str(found.path), str(exc), type(exc).__name__))
            report.files += 1
        return report

    def _load(self, found: FoundFile, overlong: Overlong) -> ParsedDocument:
        """Load one file; a parser library failing in a way medkb did not foresee makes
        the file unreadable rather than stopping the whole run (loading writes nothing)."""
        path = found.path
        try:
            return load_file(
                path,
                overlong=overlong,
                document=found.document,
                max_bytes=self.max_file_bytes,
                namespace=id_namespace(self.writer.tenant_id),  # ids per tenant
            )
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

    def _ingest_document(
        self, document: ParsedDocument, report: IngestReport, progress: Progress | None
    ) -> None:
        for pair in document.pairs:
            check_lengths(pair)  # the whole file, before its first batch is written
        self._store_raw(document)
        self._write(document, report, progress)
        self._remove_stale(document, report)

    def _store_raw(self, document: ParsedDocument) -> None:
        key = raw_key(document.path, document.raw)
        if not self.objects.exists(key):
            self.objects.put(key, document.raw)
        for pair in document.pairs:
            for source in pair.sources:
                source.object_key = source.object_key or key

    def _remove_stale(self, document: ParsedDocument, report: IngestReport) -> None:
        """Delete pairs an earlier version of this free document had and this one lacks.

        Only pairs whose source is this exact document id are looked at, so a same-named
        file in another folder is never touched. Pairs stored under the id medkb used
        before documents had paths (the bare file name) go too, but only when they came
        from these very bytes (the same raw object): they are this document's old copies.
        """
        source_type = format_for(document.path).source_type
        if source_type not in FREE_DOCUMENTS:
            return
        known = self.writer.ids_from_document(document.document, source_type=source_type)
        if document.document != document.path.name:
            known |= self.writer.ids_from_document(
                document.path.name,
                source_type=source_type,
                object_key=raw_key(document.path, document.raw),
            )
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
                progress(report.pairs, total, document.document)


def _claim(found: FoundFile, claimed: dict[str, Path]) -> None:
    """Refuse a second file with the same document id in one run (it would overwrite the
    first one's pairs)."""
    first = claimed.setdefault(found.document, found.path)
    if first != found.path:
        raise InputError(
            f"{found.path} has the same document id {found.document!r} as {first}, ingested "
            "just before it. Ingest the folder that holds both (ids are then their paths in "
            "it), or ingest each file on its own with its own --source-id."
        )
