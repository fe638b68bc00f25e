"""JSON Lines (one Q&A object per line) and JSON (a list of Q&A objects) loaders.

See :mod:`medkb.ingest.loaders.records` for the fields a row may carry. Blank lines are
ignored; a line that is not valid JSON stops the load with its line number.
"""

from __future__ import annotations

import codecs
import json

from medkb.ingest.loaders.base import Loaded, SourceFile, unreadable
from medkb.ingest.loaders.records import RowReader

_HINT = "Fix or remove that line; every line must be one JSON object (JSON Lines)."


def load_jsonl(source: SourceFile) -> Loaded:
    """Load a ``.jsonl`` file: one JSON object per line."""
    reader = RowReader(source)
    raw = source.raw.removeprefix(codecs.BOM_UTF8)
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.strip():
            reader.add(_decode_line(source, line, number), f"line {number}")
    return reader.finish()


def load_json(source: SourceFile) -> Loaded:
    """Load a ``.json`` file holding a list of JSON objects."""
    try:
        data = json.loads(source.raw.removeprefix(codecs.BOM_UTF8))
    except (ValueError, UnicodeDecodeError) as exc:
        raise unreadable(
            source, f"invalid JSON ({exc})", "Check the file is complete and valid JSON."
        ) from exc
    if not isinstance(data, list):
        raise unreadable(
            source,
            f"the top level is a JSON {type(data).__name__}",
            "A .json file must hold a list of Q&A objects; use .jsonl for one object per line.",
        )
    reader = RowReader(source)
    for number, row in enumerate(data, start=1):
        reader.add(row, f"item {number}")
    return reader.finish()


def _decode_line(source: SourceFile, line: bytes, number: int) -> object:
    try:
        return json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise unreadable(source, f"line {number} is not valid JSON ({exc})", _HINT) from exc
