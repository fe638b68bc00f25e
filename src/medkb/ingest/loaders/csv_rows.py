"""CSV and TSV loaders: a header row, then one Q&A pair per row.

The header must name an answer column (``answer``, ``response`` or ``text``) and usually
a question column (``question`` or ``title``); see :mod:`medkb.ingest.loaders.records` for the
other columns. Empty cells count as absent. Encoded in UTF-8 (a BOM is fine).
"""

from __future__ import annotations

import csv
import io

from medkb.ingest.loaders.base import Loaded, SourceFile, unreadable
from medkb.ingest.loaders.records import QUESTION_KEYS, RESPONSE_KEYS, RowReader


def load_csv(source: SourceFile) -> Loaded:
    """Load a comma-separated file."""
    return _load(source, ",")


def load_tsv(source: SourceFile) -> Loaded:
    """Load a tab-separated file."""
    return _load(source, "\t")


def _load(source: SourceFile, delimiter: str) -> Loaded:
    try:
        text = source.raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise unreadable(
            source, f"not UTF-8 text ({exc})", "Save the file as UTF-8 and load it again."
        ) from exc
    rows = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    reader = RowReader(source)
    try:
        _check_header(source, rows.fieldnames)
        for row in rows:
            cells = {key: value for key, value in row.items() if key is not None and value}
            reader.add(cells, f"line {rows.line_num}")
    except csv.Error as exc:
        raise unreadable(
            source, f"line {rows.line_num}: {exc}", "Fix the quoting on that line."
        ) from exc
    return reader.finish()


def _check_header(source: SourceFile, header: object) -> None:
    columns = [str(name) for name in header] if isinstance(header, list) else []
    if not set(columns) & set(RESPONSE_KEYS):
        raise unreadable(
            source,
            f"line 1: the header has no answer column (found: {columns})",
            f"The first row must name the columns: {' or '.join(QUESTION_KEYS)} and "
            f"{' or '.join(RESPONSE_KEYS)}.",
        )
