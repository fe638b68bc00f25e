"""What every loader takes and returns, and the errors they raise.

A loader is a function ``load(source: SourceFile) -> Loaded``; the registry picks it by
file extension and wraps its result into a :class:`ParsedDocument`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from medkb.errors import EmptyDocument, UnreadableDocument
from medkb.models import QAPair

#: What to do with a structured row whose question or response is over the SPEC limits
#: (5,000 / 10,000 characters): ``"keep"`` (default) stores it whole — the relational store
#: keeps the full text, a vector backend with smaller fields a cut copy; ``"error"`` raises
#: FieldTooLong (strict); ``"truncate"`` cuts the text itself and records a warning. Over
#: :data:`~medkb.models.MAX_TEXT_CHARS` a row is refused whatever the mode.
Overlong = Literal["keep", "error", "truncate"]
OVERLONG_MODES: tuple[Overlong, ...] = ("keep", "error", "truncate")


@dataclass(frozen=True)
class SourceFile:
    """One file to load: its path (or upload name), bytes, format and document id.

    ``document`` identifies the document in the knowledge base (its path relative to the
    folder ingested, e.g. ``docs/cardio/faq.md``; see :func:`.registry.iter_documents`);
    it names the pairs' source and is part of free documents' pair ids. Default: the
    file name.
    """

    path: Path
    raw: bytes
    source_type: str
    overlong: Overlong = "keep"
    document: str = ""
    #: :func:`medkb.ingest.ids.id_namespace` of the tenant ingesting: derived ids use it.
    namespace: str = ""

    def __post_init__(self) -> None:
        if not self.document:
            object.__setattr__(self, "document", self.path.name)

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Loaded:
    """A loader's result: the pairs, how many records were skipped, and why.

    ``skip_file``: set (to the reason) when the whole file is left out on purpose — a
    stock data-set file with nothing to load, such as a MedQuAD document whose answers
    were removed; the ingest reports it as a skipped file, not an error.
    """

    pairs: list[QAPair]
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    title: str | None = None
    skip_file: str | None = None


@dataclass
class ParsedDocument:
    """A file turned into Q&A pairs, ready to embed and store.

    Attributes:
        path: the file (or the upload's name).
        document: the document id (see :class:`SourceFile`).
        media_type: its IANA media type, e.g. ``application/pdf``.
        raw: its bytes, for object storage.
        pairs: the Q&A pairs, in document order, ids unique.
        skipped: records left out (MedQuAD pairs without an answer, duplicate ids, …).
        warnings: one line per skipped record or shortened field.
        title: the document title, for free documents.
        skip_file: why the whole file is left out (see :class:`Loaded`), or None.
    """

    path: Path
    media_type: str
    raw: bytes
    pairs: list[QAPair]
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    title: str | None = None
    document: str = ""
    skip_file: str | None = None


Loader = Callable[[SourceFile], Loaded]


def unreadable(source: SourceFile, problem: str, hint: str) -> UnreadableDocument:
    """An UnreadableDocument naming the file, what is wrong with it and what to do."""
    where = f"{source.name} as {source.source_type}"
    return UnreadableDocument(f"Cannot read {where}: {problem}. {hint}")


def empty(source: SourceFile, problem: str, hint: str) -> EmptyDocument:
    """An EmptyDocument naming the file, what it lacks and what to do."""
    return EmptyDocument(f"{source.name} {problem}. {hint}")
