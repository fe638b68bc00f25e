"""Reading an export file back, record by record, each with where it came from.

JSONL and medkb's own streamed JSON layout are read line by line (constant memory); a
JSON array in another layout is loaded whole. CSV cells are decoded back into lists,
objects and booleans; parquet is read one record batch at a time. Every reader yields
``(where, record)`` where ``where`` names the line or row for error messages.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medkb.errors import InputError
from medkb.models import VECTOR_FIELDS
from medkb.transfer.records import METADATA_COLUMNS, Record, unflatten

IMPORT_FORMATS: tuple[str, ...] = ("jsonl", "json", "csv", "parquet")
_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_JSON_CELLS = {"tags", "extra", "sources", "relations"}
_JSON_CELLS |= {f"{name}_embedding" for name in VECTOR_FIELDS}
Located = tuple[str, Any]


def detect_format(path: Path, fmt: str | None) -> str:
    """The import format: ``fmt`` when given, else from the file name's suffix."""
    found = fmt or _SUFFIXES.get(path.suffix.lower())
    if found not in IMPORT_FORMATS:
        raise InputError(
            f"Cannot tell the format of {path.name}; name it .jsonl, .json, .csv or .parquet, "
            f"or pass --format ({', '.join(IMPORT_FORMATS)})."
        )
    return found


def read_records(path: Path, fmt: str) -> Iterator[Located]:
    """Yield ``(where, record)`` for each record of the file, in file order."""
    if not path.is_file():
        raise InputError(f"No file {path}; give the path of a 'medkb export' file.")
    readers = {"jsonl": _jsonl, "json": _json, "csv": _csv, "parquet": _parquet}
    try:
        yield from readers[fmt](path)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path.name} is not UTF-8 text (byte {exc.start}); give a 'medkb export' file "
            "or convert it to UTF-8."
        ) from exc


def _bad_json(where: str, exc: json.JSONDecodeError) -> InputError:
    return InputError(
        f"{where}: not valid JSON ({exc.msg}, column {exc.colno}). Fix or remove that line "
        "and import again; nothing was imported."
    )


def _loads(where: str, text: str) -> Located:
    """``text`` as JSON, with ``where`` it came from; bad JSON is an :class:`InputError`."""
    try:
        return where, json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad_json(where, exc) from exc


def _jsonl(path: Path) -> Iterator[Located]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield _loads(f"{path.name}, line {number}", line)


def _json(path: Path) -> Iterator[Located]:
    if _streamed_layout(path):
        yield from _json_lines(path)
        return
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise _bad_json(f"{path.name}, line {exc.lineno}", exc) from exc
    if not isinstance(data, list):
        raise InputError(f"{path.name} holds one JSON object, not an array of pairs.")
    for index, record in enumerate(data, 1):
        yield f"{path.name}, record {index}", record


def _streamed_layout(path: Path) -> bool:
    """Whether the file is ``[`` on line 1 and one record (or ``]``) per line after it."""
    with path.open(encoding="utf-8") as lines:
        first, second = lines.readline().strip(), lines.readline().strip()
    second = second.removesuffix(",")
    return first == "[" and (second == "]" or (second.startswith("{") and second.endswith("}")))


def _json_lines(path: Path) -> Iterator[Located]:
    with path.open(encoding="utf-8") as lines:
        next(lines)
        for number, line in enumerate(lines, 2):
            text = line.strip().removeprefix(",").removesuffix(",")
            if text not in ("", "]"):
                yield _loads(f"{path.name}, line {number}", text)


def _csv(path: Path) -> Iterator[Located]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            where = f"{path.name}, line {reader.line_num}"
            yield where, unflatten(_decode_cells(row, where))


def _decode_cells(row: dict[str, str | None], where: str) -> Record:
    decoded: Record = {}
    for key, cell in row.items():
        if key is None:
            raise InputError(f"{where}: more cells than header columns; fix the quoting.")
        decoded[key] = _decode_cell(key, cell or "", where)
    return decoded


def _decode_cell(key: str, cell: str, where: str) -> Any:
    if key == "is_active":
        return cell.strip().lower() in ("true", "1", "yes") if cell else True
    if key == "tags" and not cell:
        return []
    if key in _JSON_CELLS and cell:
        try:
            return json.loads(cell)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{where}: column {key!r} is not valid JSON ({exc.msg}). Fix the cell and "
                "import again; nothing was imported."
            ) from exc
    if key == "language":
        return cell or "en"
    return cell if cell or key not in (*METADATA_COLUMNS, "created_at", "updated_at") else None


def _parquet(path: Path) -> Iterator[Located]:
    from medkb.transfer.formats import import_pyarrow

    pa, pq = import_pyarrow()
    from medkb.transfer.arrow import from_arrow_row

    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=1000)
    except pa.ArrowException as exc:
        raise InputError(f"{path.name} is not a readable parquet file: {exc}.") from exc
    number = 0
    for batch in batches:
        for row in batch.to_pylist():
            number += 1
            where = f"{path.name}, row {number}"
            try:
                yield where, unflatten(from_arrow_row(row))
            except json.JSONDecodeError as exc:
                raise _bad_json(f"{where}, column 'extra'", exc) from exc
