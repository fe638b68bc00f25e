"""``medkb backup`` and ``medkb restore``: whole-knowledge-base snapshots, to a folder or S3.

Neither command loads the embedding model: they work on the stores alone, so a restore
into an empty home never records an embedder before the backup's data is in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from medkb.cli.context import console, handled, print_json, state

if TYPE_CHECKING:
    from medkb.backup.restore import RestoreReport
    from medkb.backup.snapshot import BackupReport

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]


def backup_command(
    ctx: typer.Context,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Folder or s3://bucket/prefix; the backup is a new medkb-backup-<time> in it.",
        ),
    ],
    keep: Annotated[
        int | None,
        typer.Option(help="Then keep only the newest N complete backups there; older go."),
    ] = None,
    logical: Annotated[
        bool,
        typer.Option(
            "--logical",
            help="Dump the relational data as JSONL per table (restores into SQLite or "
            "PostgreSQL) instead of a SQLite file copy / pg_dump.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Back up the knowledge base: relational data, vector collection, object files.

    One consistent snapshot with a manifest (versions, schema revision, embedding model,
    counts, per-file SHA-256). S3 targets use MEDKB_S3_ENDPOINT_URL and the AWS credentials.

    Example: medkb backup --output ./backups --keep 7
    """
    from medkb.backup.snapshot import backup

    with handled():
        settings = state(ctx).settings()
        report = backup(settings, output, keep=keep, logical=logical)
    print_json(report.to_dict()) if json_out else _print_backup(report)


def restore_command(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(help="A backup folder or s3://bucket/prefix/medkb-backup-…")
    ],
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace what the target home / database already holds."),
    ] = False,
    vectors: Annotated[
        str,
        typer.Option(
            help="'load' the exported vector collection (faster) or 'rebuild' it from the "
            "stored embeddings."
        ),
    ] = "load",
    json_out: JsonOpt = False,
) -> None:
    """Restore a backup into an empty home or database, then verify zero drift.

    Every checksum is verified before anything is written; a corrupt, partial or
    incompatible backup is refused. The restore is built beside the target and switched in
    at the end: one that fails leaves the target (also with --force) as it was.

    Example: medkb --home ./restored restore ./backups/medkb-backup-20261123T060000.000Z
    """
    from medkb.backup.restore import restore

    with handled():
        settings = state(ctx).settings()
        report = restore(settings, source, force=force, method=vectors)
    print_json(report.to_dict()) if json_out else _print_restore(report)


def _print_backup(report: BackupReport) -> None:
    manifest = report.manifest
    size = sum(entry["size"] for entry in manifest.files.values())
    pairs = manifest.relational["tables"].get("medical_qa_metadata", 0)
    console.print(
        f"Backed up {pairs} pair(s), {manifest.vectors['records']} vector record(s) and "
        f"{manifest.objects['files']} object file(s) ({manifest.relational['kind']}, "
        f"{size / 2**20:.1f} MiB, {report.seconds:.1f} s) to {report.location}",
        highlight=False,
    )
    for name in report.removed:
        console.print(f"Removed the older backup {name} (--keep).", highlight=False)


def _print_restore(report: RestoreReport) -> None:
    if not report.replaced.empty:
        console.print(f"Replaced {report.replaced.describe()}.", highlight=False)
    pairs = report.manifest.relational["tables"].get("medical_qa_metadata", 0)
    how = (
        f"loaded {report.vectors_loaded} exported vector record(s), re-applied "
        f"{report.vectors_reapplied} from the relational data"
        if report.method == "load"
        else f"rebuilt {report.vectors_rebuilt} vector record(s) from the stored embeddings"
    )
    console.print(
        f"Restored {pairs} pair(s) from {report.source} ({report.manifest.created_at}); {how}; "
        f"{report.objects} object file(s); {report.steps['total']:.1f} s.",
        highlight=False,
    )
    console.print("sync verify: no drift, the vector store matches the relational store.")
    for note in report.notes:
        console.print(f"Note: {note}", highlight=False)
