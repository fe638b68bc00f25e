"""``medkb sync …``: keep the vector store in step with the relational store.

Exit codes: 0 when the stores agree; :data:`DRIFT_EXIT_CODE` (3) when ``verify`` finds
drift or ``repair`` could not remove it; 69 when a store is unavailable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer

from medkb.cli.context import console, print_json, run
from medkb.sync.repair import RepairReport, repair
from medkb.sync.verify import SyncStatus, VerifyReport, status, verify

#: Exit code of ``sync verify`` / ``sync repair`` when the stores still differ. Not 1,
#: which an uncaught Python exception also gives, nor 2, which means a usage error.
DRIFT_EXIT_CODE = 3

sync_app = typer.Typer(help="Keep the vector store in step with the relational store.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]


@sync_app.command("status")
def sync_status(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Show pending, failed and synced counts, outbox rows and the oldest pending age.

    Example: medkb sync status --json
    """
    report: SyncStatus = run(ctx, lambda kb: status(kb.engine, tenant_id=kb.tenant_id))
    if json_out:
        print_json(report.to_dict())
        return
    age = report.oldest_pending_age_s
    console.print(
        f"Tenant {report.tenant_id}: {report.synced} synced, {report.pending} pending, "
        f"{report.failed} failed; {report.outbox_rows} outbox row(s); oldest pending: "
        f"{'none' if age is None else f'{age:.1f} s'}."
    )
    for failed in report.failed_ids:
        console.print(
            f"  failed: {failed['id']} after {failed['attempts']} attempt(s): "
            f"{failed['last_error']}",
            highlight=False,
        )
    if report.failed or report.pending:
        console.print("Run 'medkb sync repair' to apply them now.")


@sync_app.command("verify")
def sync_verify(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Compare both stores id by id and checksum by checksum.

    Reports ids missing from the vector store, extra in it and stale (content differs).
    Exits 0 when the stores agree and 3 when they drift apart.

    Example: medkb sync verify --json
    """
    report: VerifyReport = run(ctx, lambda kb: verify(kb.engine, kb.store, tenant_id=kb.tenant_id))
    if json_out:
        print_json(report.to_dict())
    else:
        _print_verify(report)
    if not report.clean:
        raise typer.Exit(DRIFT_EXIT_CODE)


@sync_app.command("repair")
def sync_repair(
    ctx: typer.Context,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Delete every vector record and write all again from the stored embeddings "
            "(no re-embedding).",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Apply pending changes, then re-apply every drifting id from the relational store.

    Verifies before and after; exits 3 if drift remains.

    Example: medkb sync repair --rebuild
    """

    def work(kb: Any) -> RepairReport:
        return repair(kb.engine, kb.store, tenant_id=kb.tenant_id, rebuild_all=rebuild)

    report: RepairReport = run(ctx, work)
    if json_out:
        print_json(report.to_dict())
    else:
        _print_repair(report)
    if not report.after.clean:
        raise typer.Exit(DRIFT_EXIT_CODE)


def _print_verify(report: VerifyReport) -> None:
    console.print(
        f"Relational store: {report.relational_count} pair(s); "
        f"vector store: {report.vector_count} record(s) (tenant {report.tenant_id})."
    )
    for label, ids in (
        ("Missing from the vector store", report.missing),
        ("Extra in the vector store", report.extra),
        ("Stale in the vector store", report.stale),
    ):
        if ids:
            console.print(f"{label} ({len(ids)}): {_sample(ids)}", highlight=False)
    if report.clean:
        console.print("No drift: the vector store matches the relational store.")
        return
    if report.outbox_pending:
        console.print(
            f"{report.outbox_pending} outbox row(s) are still pending; some drift is "
            "expected until they are applied."
        )
    console.print(f"Drift on {report.drift} id(s). Run 'medkb sync repair' to fix it.")


def _print_repair(report: RepairReport) -> None:
    mode = "Rebuilt the vector store" if report.rebuilt else "Repaired the vector store"
    console.print(
        f"{mode}: applied {report.applied} pending change(s), upserted {report.upserted}, "
        f"deleted {report.deleted}. Drift before: {report.before.drift}, after: "
        f"{report.after.drift}."
    )
    for qa_id, error in sorted(report.failed.items())[:20]:
        console.print(f"  rejected by the vector store: {qa_id}: {error}", highlight=False)
    if report.failed:
        console.print(
            f"{len(report.failed)} id(s) stay 'failed' (see 'medkb sync status'); fix the "
            "pair ('medkb update' or re-ingest) and it syncs."
        )
    if not report.after.clean:
        _print_verify(report.after)


def _sample(ids: Sequence[str], limit: int = 20) -> str:
    """At most ``limit`` ids, comma-separated, with a count of the rest."""
    rest = len(ids) - limit
    shown = ", ".join(ids[:limit])
    return f"{shown}, … and {rest} more" if rest > 0 else shown
