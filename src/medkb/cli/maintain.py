"""``medkb migrate`` and ``medkb reembed``: move a knowledge base to PostgreSQL or to
another embedding model, verified, resumable, without losing a record."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from medkb.cli.context import console, handled, print_json, progress_bar, state
from medkb.redact import MASK

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", help="Rows per batch and transaction.")]


def migrate_command(
    ctx: typer.Context,
    to: Annotated[
        str, typer.Option("--to", help="Target PostgreSQL URL; the database must exist.")
    ],
    vector_url: Annotated[
        str | None,
        typer.Option(
            "--vector-url",
            help="Vector store afterwards (e.g. 'pgvector'); default: keep the current one "
            "when it does not live in the relational database.",
        ),
    ] = None,
    batch_size: BatchOpt = 1000,
    json_out: JsonOpt = False,
) -> None:
    """Copy the knowledge base into PostgreSQL, verify every table, print the new settings.

    Safe to run again after an interruption: it resumes and never duplicates a row.
    The source is only read. Stop other writers first.

    Add --vector-url pgvector to keep the vectors in the same PostgreSQL (it needs the
    pgvector extension).

    Example: medkb migrate --to postgresql://medkb@db.internal:5432/medkb
    """
    from medkb.relocate.migrate import migrate

    with handled(), progress_bar(json_out) as bar:
        task = bar.add_task("migrate", total=None)

        def on_batch(table: str, copied: int, total: int) -> None:
            bar.update(task, completed=copied, total=total, description=table)

        report = migrate(
            state(ctx).settings(),
            target_url=to,
            vector_url=vector_url,
            batch_size=batch_size,
            on_batch=on_batch,
        )
    if json_out:
        print_json(report.to_dict())
    else:
        _print_migrate(report.to_dict())
    if not report.ok:
        raise typer.Exit(3)


def _print_migrate(data: dict[str, Any]) -> None:
    console.print(f"Migrated {data['source']} → {data['target']} in {data['seconds']:.1f} s")
    for table in data["tables"]:
        mark = "ok" if table["match"] else "MISMATCH"
        note = " (already there)" if table["skipped"] else ""
        console.print(
            f"  {table['table']:<22} {table['rows']:>8} rows  {table['seconds']:>7.2f} s  "
            f"checksum {mark}{note}",
            highlight=False,
        )
    caught_up = sum(table["caught_up"] for table in data["tables"])
    console.print(
        f"  final check: {data['passes']} pass(es) over one snapshot of the source, "
        f"{caught_up} row(s) written meanwhile caught up",
        highlight=False,
    )
    vectors = data["vectors"]
    if vectors:
        verdict = "verify clean" if vectors["clean"] else "DRIFT: run 'medkb sync repair'"
        console.print(
            f"  vectors: {vectors['action']} in {vectors['url']} ({vectors['records']} "
            f"records, {vectors['seconds']:.1f} s), {verdict}",
            highlight=False,
        )
    console.print("Use the migrated knowledge base with:")
    for key, value in data["settings"].items():
        console.print(f"  export {key}='{value}'", highlight=False)
    if any(MASK in value for value in data["settings"].values()):
        console.print(f"  ({MASK} stands for the password you gave; it is never printed.)")


def reembed_command(
    ctx: typer.Context,
    embedder: Annotated[
        str, typer.Option("--embedder", help="The new embedding model: minilm or static.")
    ],
    batch_size: BatchOpt = 64,
    json_out: JsonOpt = False,
) -> None:
    """Re-embed every pair with another model, then switch to it atomically.

    Queries keep using the old model until the switch; pairs written meanwhile are caught
    up. Safe to run again after an interruption: it resumes. The knowledge base then opens
    with the new model by default; restart long-running medkb processes (API, workers), and
    drop any MEDKB_EMBEDDER that names the old model.

    Example: medkb reembed --embedder minilm
    """
    from medkb.relocate.reembed import reembed

    with handled(), progress_bar(json_out) as bar:
        task = bar.add_task("reembed", total=None)

        def on_batch(done: int, left: int) -> None:
            bar.update(task, completed=done, total=done + left, description="re-embedding")

        report = reembed(
            state(ctx).settings(), embedder=embedder, batch_size=batch_size, on_batch=on_batch
        )
    data = report.to_dict()
    if json_out:
        print_json(data)
    else:
        console.print(
            f"Re-embedded {data['embedded']} pair(s) with {data['new_model']} in "
            f"{data['seconds']:.1f} s; active collection {data['collection']}"
            + (f", dropped {data['old_collection']}" if data["old_collection"] else "")
            + ("; verify clean." if data["clean"] else "; DRIFT: run 'medkb sync repair'."),
            highlight=False,
        )
        console.print(
            f"It now opens with {embedder} by default; unset MEDKB_EMBEDDER if it names "
            "the old model.",
            highlight=False,
        )
    if not report.clean:
        raise typer.Exit(3)
