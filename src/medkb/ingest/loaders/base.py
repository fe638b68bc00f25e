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

#: What to do with a structured row whose question or response is over the SPEC limits:
#: ``"error"`` raises FieldTooLong, ``"truncate"`` cuts the text and records a warning.
Overlong = Literal["error", "truncate"]


@dataclass(frozen=True)
class SourceFile:
    """One file to load: its path (or upload name), bytes and format."""

    path: Path
    raw: bytes
    source_type: str
    overlong: Overlong = "error"

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Loaded:
    """A loader's result: the pairs, how many records were skipped, and why."""

    pairs: list[QAPair]
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    title: str | None = None


@dataclass
class ParsedDocument:
    """A file turned into Q&A pairs, ready to embed and store.

    Attributes:
        path: the file (or the upload's name).
        media_type: its IANA media type, e.g. ``application/pdf``.
        raw: its bytes, for object storage.
        pairs: the Q&A pairs, in document order, ids unique.
        skipped: records left out (MedQuAD pairs without an answer, duplicate ids, …).
        warnings: one line per skipped record or shortened field.
        title: the document title, for free documents.
    """

    path: Path
    media_type: str
    raw: bytes
    pairs: list[QAPair]
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    title: str | None = None


Loader = Callable[[SourceFile], Loaded]


def unreadable(source: SourceFile, problem: str, hint: str) -> UnreadableDocument:
    """An UnreadableDocument naming the file, what is wrong with it and what to do."""
    where = f"{source.name} as {source.source_type}"
    return UnreadableDocument(f"Cannot read {where}: {problem}. {hint}")


def empty(source: SourceFile, problem: str, hint: str) -> EmptyDocument:
    """An EmptyDocument naming the file, what it lacks and what to do."""
    return EmptyDocument(f"{source.name} {problem}. {hint}")
