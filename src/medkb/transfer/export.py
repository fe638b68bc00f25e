"""``medkb export``: stream a tenant's pairs out of the relational store, batch by batch.

:func:`export_pairs` is the reusable core (backup's logical dump uses it with a JSONL
sink): it reads ids in keyset-paginated batches, loads each batch's pairs, sources,
outgoing relations and (optionally) embeddings, and hands the records to a :class:`Sink`.
Memory stays at one batch whatever the size of the knowledge base. On PostgreSQL the
whole export reads one ``REPEATABLE READ`` snapshot; on SQLite each batch reads the
latest committed state.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa

from medkb.app import check_filters
from medkb.errors import InputError
from medkb.transfer.formats import CsvSink, JsonlSink, JsonSink, ParquetSink, Sink
from medkb.transfer.records import count_matching, iter_id_batches, load_records
from medkb.transfer.sqlscript import DEFAULT_TABLE, SqlScriptSink

FORMATS: tuple[str, ...] = ("csv", "jsonl", "json", "parquet", "sql")
Progress = Callable[[int, int], None]


@dataclass
class ExportReport:
    """What an export wrote."""

    format: str
    output: str
    include_embeddings: bool
    pairs: int = 0
    relations: int = 0
    sources: int = 0
    seconds: float = 0.0
    bytes: int = 0
    #: For ``--format sql`` into PostgreSQL: the embedding column type used.
    vector_type: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, with the throughput."""
        rate = self.pairs / self.seconds if self.seconds > 0 else None
        return {**asdict(self), "pairs_per_s": None if rate is None else round(rate, 1)}


def open_sink(
    fmt: str,
    output: str,
    *,
    include_embeddings: bool = False,
    table: str = DEFAULT_TABLE,
    dimension: int | None = None,
) -> Sink:
    """The sink for ``fmt``; ``sql`` with a ``postgresql://`` output writes into a table."""
    if fmt not in FORMATS:
        raise InputError(f"Unknown export format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if is_postgres_url(output):
        if fmt != "sql":
            raise InputError(
                f"A PostgreSQL URL is an output for --format sql only, not {fmt}; give a file "
                "path for the other formats."
            )
        from medkb.transfer.pgtable import PostgresTableSink

        return PostgresTableSink(
            output, table=table, include_embeddings=include_embeddings, dimension=dimension
        )
    return _file_sink(fmt, Path(output), include_embeddings=include_embeddings, table=table)


def is_postgres_url(output: str) -> bool:
    """Whether ``output`` is a PostgreSQL URL (``postgresql://``, ``postgresql+psycopg://``)."""
    return re.match(r"^postgres(ql)?(\+\w+)?://", output) is not None


def shown(output: str) -> str:
    """``output`` as reports show it: a URL's password masked."""
    if not is_postgres_url(output):
        return output
    return sa.engine.make_url(output).render_as_string(hide_password=True)


def _file_sink(fmt: str, path: Path, *, include_embeddings: bool, table: str) -> Sink:
    if fmt == "jsonl":
        return JsonlSink(path)
    if fmt == "json":
        return JsonSink(path)
    if fmt == "csv":
        return CsvSink(path, include_embeddings=include_embeddings)
    if fmt == "parquet":
        return ParquetSink(path, include_embeddings=include_embeddings)
    return SqlScriptSink(path, table=table, include_embeddings=include_embeddings)


def export_pairs(
    engine: sa.Engine,
    sink: Sink,
    *,
    tenant_id: str,
    filters: Mapping[str, Sequence[str]] | None = None,
    include_embeddings: bool = False,
    batch_size: int = 1000,
    progress: Progress | None = None,
) -> ExportReport:
    """Write the tenant's pairs matching ``filters`` to ``sink``; the sink is left open.

    Returns a report with the counts (format, output and bytes are the caller's to fill).
    """
    check_filters(filters)
    report = ExportReport(format="", output="", include_embeddings=include_embeddings)
    with _snapshot(engine) as conn:
        total = count_matching(conn, tenant_id=tenant_id, filters=filters)
        for ids in iter_id_batches(
            conn, tenant_id=tenant_id, filters=filters, batch_size=batch_size
        ):
            records = load_records(
                conn, ids, tenant_id=tenant_id, include_embeddings=include_embeddings
            )
            sink.write(records)
            report.pairs += len(records)
            report.relations += sum(len(r["relations"]) for r in records)
            report.sources += sum(len(r["sources"]) for r in records)
            if progress is not None:
                progress(report.pairs, total)
    return report


def _snapshot(engine: sa.Engine) -> sa.Connection:
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        conn.begin()
    return conn


def export_to(
    engine: sa.Engine,
    fmt: str,
    output: str,
    *,
    tenant_id: str,
    filters: Mapping[str, Sequence[str]] | None = None,
    include_embeddings: bool = False,
    table: str = DEFAULT_TABLE,
    dimension: int | None = None,
    progress: Progress | None = None,
) -> ExportReport:
    """Export to ``output`` in ``fmt``: open the sink, stream, close (or clean up on error)."""
    started = time.perf_counter()
    sink = open_sink(
        fmt, output, include_embeddings=include_embeddings, table=table, dimension=dimension
    )
    try:
        report = export_pairs(
            engine,
            sink,
            tenant_id=tenant_id,
            filters=filters,
            include_embeddings=include_embeddings,
            progress=progress,
        )
    except BaseException:
        sink.abort()
        raise
    report.bytes = sink.close()
    report.format, report.output = fmt, shown(output)
    report.vector_type = getattr(sink, "vector_type", None)
    report.seconds = round(time.perf_counter() - started, 3)
    return report
