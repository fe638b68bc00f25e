"""Export sinks for files: JSONL, JSON, CSV and parquet, each written batch by batch.

Every sink writes to ``<output>.partial`` and renames it over ``<output>`` only when the
export finished, so a failed or interrupted export never leaves a truncated file under the
name the user asked for.

- **jsonl**: one record per line (UTF-8, not ASCII-escaped).
- **json**: one array, streamed: ``[`` on the first line, then one record per line, ``]``
  on the last; :mod:`medkb.transfer.sources` reads it back line by line.
- **csv**: the flat columns of :func:`medkb.transfer.records.columns`; lists and objects
  (tags, extra, sources, relations, the embedding vectors) as JSON text, booleans as
  ``true``/``false``, a missing value as an empty cell. JSON arrays rather than base64 so a
  spreadsheet or ``json.loads`` reads the vectors without knowing their byte layout.
- **parquet**: native types (``list<float32>`` vectors, ``list<struct>`` sources and
  relations, ``list<string>`` tags), ``extra`` as JSON text; one row group per batch.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from medkb.errors import InputError, missing_dependency
from medkb.transfer.records import Record, columns, flatten


class Sink(Protocol):
    """Where an export goes, one batch of records at a time."""

    def write(self, records: Sequence[Record]) -> None:
        """Write one batch."""

    def close(self) -> int:
        """Finish the export; return the bytes written (0 when not a file)."""

    def abort(self) -> None:
        """Give up: remove anything half-written."""


class PartialFile:
    """``<path>.partial`` while writing, renamed to ``path`` when finished."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        if path.is_dir():
            raise InputError(f"--output {path} is a directory; give a file name.")
        try:
            self.partial.touch()
        except OSError as exc:
            raise InputError(
                f"Cannot write {path}: {exc.strerror or exc}. Choose a writable --output "
                "(the folder must exist)."
            ) from exc

    def open_text(self) -> IO[str]:
        """The partial file opened for UTF-8 text."""
        return self.partial.open("w", encoding="utf-8", newline="")

    def finish(self) -> int:
        """Rename the partial file into place; return its size."""
        self.partial.replace(self.path)
        return self.path.stat().st_size

    def discard(self) -> None:
        """Remove the partial file."""
        self.partial.unlink(missing_ok=True)


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class JsonlSink:
    """One JSON record per line."""

    def __init__(self, path: Path) -> None:
        self.file = PartialFile(path)
        self.out = self.file.open_text()

    def write(self, records: Sequence[Record]) -> None:
        self.out.write("".join(dumps(record) + "\n" for record in records))

    def close(self) -> int:
        self.out.close()
        return self.file.finish()

    def abort(self) -> None:
        self.out.close()
        self.file.discard()


class JsonSink(JsonlSink):
    """One JSON array, streamed one record per line."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.out.write("[")
        self.first = True

    def write(self, records: Sequence[Record]) -> None:
        for record in records:
            self.out.write(("\n" if self.first else ",\n") + dumps(record))
            self.first = False

    def close(self) -> int:
        self.out.write("\n]\n")
        return super().close()


def csv_cell(value: Any) -> str:
    """How one value is written in a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return dumps(value)
    return str(value)


class CsvSink(JsonlSink):
    """Flat columns, lists and objects as JSON text."""

    def __init__(self, path: Path, *, include_embeddings: bool) -> None:
        super().__init__(path)
        self.include_embeddings = include_embeddings
        self.writer = csv.writer(self.out)
        self.writer.writerow(columns(include_embeddings=include_embeddings))

    def write(self, records: Sequence[Record]) -> None:
        for record in records:
            row = flatten(record, include_embeddings=self.include_embeddings)
            self.writer.writerow([csv_cell(value) for value in row.values()])


class ParquetSink:
    """Native parquet types; one row group per batch (pyarrow's ParquetWriter)."""

    def __init__(self, path: Path, *, include_embeddings: bool) -> None:
        pa, pq = import_pyarrow()
        from medkb.transfer.arrow import export_schema

        self.pa, self.include_embeddings = pa, include_embeddings
        self.schema = export_schema(include_embeddings=include_embeddings)
        self.file = PartialFile(path)
        self.writer = pq.ParquetWriter(str(self.file.partial), self.schema)

    def write(self, records: Sequence[Record]) -> None:
        from medkb.transfer.arrow import to_arrow_row

        rows = [to_arrow_row(r, include_embeddings=self.include_embeddings) for r in records]
        self.writer.write_table(self.pa.Table.from_pylist(rows, schema=self.schema))

    def close(self) -> int:
        self.writer.close()
        return self.file.finish()

    def abort(self) -> None:
        self.writer.close()
        self.file.discard()


def import_pyarrow() -> tuple[Any, Any]:
    """``pyarrow`` and ``pyarrow.parquet``, or an error naming the extra to install."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise missing_dependency("pyarrow", "parquet", "Parquet export and import") from exc
    return pa, pq
