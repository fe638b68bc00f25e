"""``medkb export`` and ``medkb import``: a knowledge base's pairs out to files or a
PostgreSQL table, and medkb's own export files back in."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medkb.cli.context import console, parse_pairs, print_json, progress_bar, run

if TYPE_CHECKING:
    from medkb.transfer.export import ExportReport
    from medkb.transfer.importer import ImportReport

#: The export formats and default table name, spelled out so that ``--help`` need not import
#: the transfer package (``medkb.transfer.export.FORMATS``; a test keeps them equal).
FORMATS: tuple[str, ...] = ("csv", "jsonl", "json", "parquet", "sql")
DEFAULT_TABLE = "medical_knowledge_base"

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
FormatOpt = Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")]
OutputOpt = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        help="File to write ('-' for standard output), or with --format sql a postgresql:// "
        "URL to write a table into.",
    ),
]
EmbeddingsOpt = Annotated[
    bool,
    typer.Option("--include-embeddings", help="Add the three vectors and the embedding model id."),
]
FilterOpt = Annotated[
    list[str] | None, typer.Option("--filter", help="Metadata filter key=value (repeatable).")
]
TableOpt = Annotated[
    str, typer.Option(help="Table name for --format sql (file script or PostgreSQL URL).")
]
PathArg = Annotated[
    Path, typer.Argument(help="A 'medkb export' file (.jsonl, .json, .csv, .parquet).")
]
ImportFormatOpt = Annotated[
    str | None,
    typer.Option("--format", help="jsonl, json, csv or parquet (default: from the suffix)."),
]


def export_command(
    ctx: typer.Context,
    format_: FormatOpt,
    output: OutputOpt,
    include_embeddings: EmbeddingsOpt = False,
    filter_: FilterOpt = None,
    table: TableOpt = DEFAULT_TABLE,
    json_out: JsonOpt = False,
) -> None:
    """Export the pairs with metadata, sources and relations (streamed, in batches).

    Example: medkb export --format jsonl --output kb.jsonl --include-embeddings

    Example: medkb export --format csv --output - --filter category=Neurology

    Example: medkb export --format sql --output postgresql://user@db/medkb --include-embeddings
    """
    filters = parse_pairs(filter_ or [], "--filter")
    to_stdout = output == "-"

    from medkb.transfer.export import export_to

    def work(kb: Any) -> ExportReport:
        with progress_bar(json_out or to_stdout) as bar, _staged(output, format_) as target:
            task = bar.add_task("export", total=None)
            return export_to(
                kb.engine,
                format_,
                target,
                tenant_id=kb.tenant_id,
                filters=filters,
                include_embeddings=include_embeddings,
                table=table,
                dimension=kb.embedder.dimension,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )

    report = run(ctx, work)
    if to_stdout:  # the data went to stdout: the report goes to stderr, or nowhere
        report.output = "-"
        if json_out:
            sys.stderr.write(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
        return
    print_json(report.to_dict()) if json_out else _print_export(report)


@contextmanager
def _staged(output: str, fmt: str) -> Iterator[str]:
    """``output`` itself, or for ``-`` a temporary file copied to standard output after.

    The sinks write files (parquet needs to seek), so standard output is fed from one.
    """
    if output != "-":
        yield output
        return
    with tempfile.TemporaryDirectory(prefix="medkb-export-") as folder:
        path = Path(folder) / f"export.{fmt}"
        yield str(path)
        sys.stdout.flush()
        with path.open("rb") as data:
            shutil.copyfileobj(data, sys.stdout.buffer)
        sys.stdout.buffer.flush()


def _print_export(report: ExportReport) -> None:
    console.print(
        f"Exported {report.pairs} pair(s), {report.relations} relation(s) and "
        f"{report.sources} source(s) to {report.output} ({report.format}"
        f"{', with embeddings' if report.include_embeddings else ''}) in {report.seconds} s"
        f" ({report.to_dict()['pairs_per_s']} pairs/s, {report.bytes:,} bytes).",
        highlight=False,
    )


def import_command(
    ctx: typer.Context,
    path: PathArg,
    format_: ImportFormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Import a medkb export: pairs, metadata, sources, relations, timestamps, embeddings.

    Every record is checked before anything is written. Embeddings of this knowledge base's
    model are reused; others are re-embedded.

    Example: medkb import kb.jsonl
    """

    from medkb.transfer.importer import import_file

    def work(kb: Any) -> ImportReport:
        with progress_bar(json_out) as bar:
            task = bar.add_task("import", total=None)
            return import_file(
                kb,
                path,
                fmt=format_,
                progress=lambda stage, done, total: bar.update(
                    task, completed=done, total=total, description=stage
                ),
            )

    report = run(ctx, work)
    print_json(report.to_dict()) if json_out else _print_import(report)


def _print_import(report: ImportReport) -> None:
    dropped = report.dropped_relations
    console.print(
        f"Imported {report.pairs} pair(s) from {report.path}: {report.created} created, "
        f"{report.updated} updated, {report.unchanged} unchanged, {report.reembedded} "
        f"re-embedded; {report.relations} relation(s) restored"
        f"{f', {dropped} dropped (their target is not in this KB)' if dropped else ''}"
        f" in {report.seconds} s.",
        highlight=False,
    )
