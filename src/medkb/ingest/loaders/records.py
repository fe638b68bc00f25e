"""Structured Q&A rows (JSONL, JSON, CSV) → QAPair.

A row is a flat mapping in the BEIR style of ``../shared/data/*/corpus.jsonl``:

- ``id`` (or ``_id``): kept as the pair id, so evaluation qrels line up; a row without one
  gets a content-derived id, ``make_id(question, response)``.
- ``question`` (or ``title``) and ``answer`` (or ``response``, ``text``). A row without an
  answer is skipped with a warning. A row with an empty question (BioASQ snippets whose
  article title is unknown) still loads: its question is the first sentence of the
  answer, shortened to 200 characters, and ``metadata.extra["question_derived"]`` is True.
- ``category``, ``subcategory``, ``source``, ``source_type``, ``author``, ``published``
  (or ``publication_date``, ``date``), ``language``, ``difficulty``, ``tags`` (a list, or
  a string split on ``,``/``;``/``|``) and ``is_active`` fill QAMetadata; ``url``,
  ``page`` and ``section`` fill the pair's Source. Any other key goes to
  ``metadata.extra``.
- A row exported by medkb (``QAPair.to_dict()``) loads back: its nested ``metadata`` and
  ``sources`` are read, and store-managed keys (``tenant_id``, timestamps,
  ``embeddings``, ``related_nodes``) are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields as dataclass_fields
from typing import Any

from medkb.errors import FieldTooLong
from medkb.ingest.ids import make_id
from medkb.ingest.loaders.base import Loaded, SourceFile, empty, unreadable
from medkb.ingest.text import excerpt, first_sentence, shorten, tidy
from medkb.models import (
    MAX_QUESTION_CHARS,
    MAX_RESPONSE_CHARS,
    MAX_TEXT_CHARS,
    QAMetadata,
    QAPair,
    Source,
)

ID_KEYS = ("id", "_id")
QUESTION_KEYS = ("question", "title")
RESPONSE_KEYS = ("answer", "response", "text")
PUBLISHED_KEYS = ("published", "publication_date", "date")
_SCALAR_META = ("category", "subcategory", "source", "author", "difficulty")
_SOURCE_KEYS = ("url", "page", "section")
_STORE_KEYS = ("tenant_id", "created_at", "updated_at", "embeddings", "related_nodes")
_CONSUMED = frozenset(
    (*ID_KEYS, *QUESTION_KEYS, *RESPONSE_KEYS, *PUBLISHED_KEYS, *_SCALAR_META, *_SOURCE_KEYS,
     *_STORE_KEYS, "source_type", "language", "tags", "is_active", "sources", "metadata",
     "extra")
)  # fmt: skip
_FALSE = frozenset(("false", "0", "no", "n", "off", ""))
_SOURCE_FIELDS = frozenset(field.name for field in dataclass_fields(Source))


class RowReader:
    """Collects the rows of one file into pairs, enforcing limits and unique ids."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.result = Loaded(pairs=[])
        self._ids: set[str] = set()

    def add(self, row: object, where: str) -> None:
        """Turn one row into a pair, or skip it with a warning. ``where``: "line 12"."""
        if not isinstance(row, Mapping):
            raise unreadable(
                self.source,
                f"{where} is a JSON {type(row).__name__}, not an object",
                "Each record must be an object with question and answer fields.",
            )
        pair = self._pair(_flatten(row), where)
        if pair is not None:
            self.result.pairs.append(pair)

    def finish(
        self, hint: str = "Give each row a question and an answer (or response) field."
    ) -> Loaded:
        """The loaded pairs; EmptyDocument (with ``hint``) when there are none."""
        if not self.result.pairs:
            raise empty(self.source, f"has no Q&A pairs ({self.result.skipped} skipped)", hint)
        return self.result

    def _pair(self, row: dict[str, Any], where: str) -> QAPair | None:
        question = _text(row, QUESTION_KEYS, where, self.source)
        response = _text(row, RESPONSE_KEYS, where, self.source)
        row_id = _text(row, ID_KEYS, where, self.source) or make_id(
            question, response, namespace=self.source.namespace
        )
        if not response or row_id in self._ids:
            self._skip(f"{where} (id {row_id}): " + ("duplicate id" if response else "no answer"))
            return None
        self._ids.add(row_id)
        metadata = _metadata(row, self.source.source_type)
        if not question:
            question = first_sentence(response)
            metadata.extra["question_derived"] = True
        question = self._fit(question, "question", row_id, where, metadata)
        response = self._fit(response, "response", row_id, where, metadata)
        return QAPair(row_id, question, response, metadata, _sources(row, response, self.source))

    def _fit(self, text: str, name: str, row_id: str, where: str, metadata: QAMetadata) -> str:
        """``text`` as the ``overlong`` mode keeps it (see :data:`.base.Overlong`)."""
        limit = MAX_QUESTION_CHARS if name == "question" else MAX_RESPONSE_CHARS
        mode = self.source.overlong
        if len(text) <= limit or (mode == "keep" and len(text) <= MAX_TEXT_CHARS):
            return text
        problem = f"{self.source.name} {where} (id {row_id}): the {name} is {len(text):,} chars"
        if mode == "keep":
            raise FieldTooLong(
                f"{problem}, over medkb's limit of {MAX_TEXT_CHARS:,} (MAX_TEXT_CHARS). Split "
                "it into several pairs, or ingest with --overlong truncate (Python: "
                f"overlong='truncate') to cut it at {limit:,}."
            )
        if mode == "error":
            raise FieldTooLong(
                f"{problem}, over the limit of {limit:,} (MAX_{name.upper()}_CHARS) that "
                "--overlong error enforces. Ingest without it (the default, --overlong keep, "
                "stores long texts whole), or shorten or split the text."
            )
        self.result.warnings.append(f"{problem}; cut to {limit:,}")
        metadata.extra.setdefault("truncated", []).append(name)
        return shorten(text, limit)

    def _skip(self, warning: str) -> None:
        self.result.skipped += 1
        self.result.warnings.append(f"{self.source.name} {warning}; skipped")


def _flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with medkb's nested ``metadata`` / ``metadata.extra`` lifted to the top level."""
    nested = row.get("metadata")
    flat = dict(nested) if isinstance(nested, Mapping) else {}
    extra = flat.pop("extra", None)
    if isinstance(extra, Mapping):
        flat = {**extra, **flat}
    return {**flat, **row}


def _text(row: Mapping[str, Any], keys: tuple[str, ...], where: str, source: SourceFile) -> str:
    """The first present field among ``keys`` as tidy text ("" when absent)."""
    for key in keys:
        value = row.get(key)
        if value is None:
            continue
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return tidy(str(value))
        raise unreadable(
            source, f"{where}: field '{key}' is a {type(value).__name__}", "It must be text."
        )
    return ""


def _scalar(value: Any) -> str | None:
    return None if value is None or value == "" else str(value).strip() or None


def _metadata(row: Mapping[str, Any], source_type: str) -> QAMetadata:
    published = next((row[key] for key in PUBLISHED_KEYS if row.get(key)), None)
    extra = {
        key: value
        for key, value in row.items()
        if key not in _CONSUMED and value is not None and value != ""
    }
    return QAMetadata(
        **{key: _scalar(row.get(key)) for key in _SCALAR_META},
        source_type=_scalar(row.get("source_type")) or source_type,
        published=_scalar(published),
        language=_scalar(row.get("language")) or "en",
        tags=_tags(row.get("tags")),
        is_active=_flag(row.get("is_active", True)),
        extra=extra,
    )


def _tags(value: Any) -> list[str]:
    if isinstance(value, str):
        return [tag.strip() for tag in re.split(r"[,;|]", value) if tag.strip()]
    if isinstance(value, list | tuple):
        return [str(tag).strip() for tag in value if str(tag).strip()]
    return []


def _flag(value: Any) -> bool:
    return str(value).strip().lower() not in _FALSE if isinstance(value, str) else bool(value)


def _sources(row: Mapping[str, Any], response: str, source: SourceFile) -> list[Source]:
    """Sources a medkb export carries, else one naming this file (with url/page/section)."""
    given = row.get("sources")
    if isinstance(given, list) and given and all(isinstance(item, Mapping) for item in given):
        kept = [{k: v for k, v in item.items() if k in _SOURCE_FIELDS} for item in given]
        return [Source(**{"document": source.document, **item}) for item in kept]
    page = _scalar(row.get("page"))
    return [
        Source(
            document=source.document,
            page=int(page) if page and page.isdigit() else None,
            section=_scalar(row.get("section")),
            excerpt=excerpt(response),
            url=_scalar(row.get("url")),
        )
    ]
