"""``medkb sync …``: keep the vector store in step with the relational store.

Exit codes: 0 when the stores agree and the graph is what the embeddings imply;
:data:`DRIFT_EXIT_CODE` (3) when ``verify`` finds drift (vector or graph) or ``repair``
could not remove it; 69 when a store is unavailable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medkb.cli.context import console, print_json, run
from medkb.cli.help import TidyGroup

if TYPE_CHECKING:
    from medkb.sync.graph import GraphRepairReport, GraphReport
    from medkb.sync.repair import RepairReport
    from medkb.sync.verify import SyncStatus, VerifyReport

#: Exit code of ``sync verify`` / ``sync repair`` when the stores still differ. Not 1,
#: which an uncaught Python exception also gives, nor 2, which means a usage error.
DRIFT_EXIT_CODE = 3

sync_app = typer.Typer(
    cls=TidyGroup, help="Keep the vector store in step with the relational store."
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
NoGraphOpt = Annotated[
    bool,
    typer.Option(
        "--no-graph",
        help="Skip the graph check (an exact k-NN over every pair; its time grows with the "
        "square of the pair count: 7.6 s for 10,000 pairs, docs/benchmarks.md).",
    ),
]


@sync_app.command("status")
def sync_status(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Show pending, failed and synced counts, outbox rows and the oldest pending age.

    Example: medkb sync status --json
    """
    from medkb.sync.verify import status

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
def sync_verify(
    ctx: typer.Context, json_out: JsonOpt = False, no_graph: NoGraphOpt = False
) -> None:
    """Compare both stores id by id and checksum by checksum, and check the graph.

    Reports ids missing from the vector store, extra in it and stale (content differs);
    then `similar_to` links the stored embeddings imply but the graph lacks, and relations
    pointing at pairs that are gone or belong to another tenant. Exits 0 when all agree
    and 3 on any drift.

    Example: medkb sync verify --json
    """
    from medkb.sync.graph import verify_graph
    from medkb.sync.verify import verify

    def work(kb: Any) -> tuple[VerifyReport, GraphReport | None]:
        report = verify(kb.engine, kb.store, tenant_id=kb.tenant_id)
        if no_graph:
            return report, None
        return report, verify_graph(kb.engine, tenant_id=kb.tenant_id, graph=kb.settings.graph)

    report, graph = run(ctx, work)
    if json_out:
        print_json({**report.to_dict(), "graph": graph.to_dict() if graph else None})
    else:
        _print_verify(report)
        if graph is not None:
            _print_graph(graph)
    if not report.clean or (graph is not None and not graph.clean):
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
    no_graph: NoGraphOpt = False,
) -> None:
    """Repair the graph, apply pending changes, re-apply every drifting id.

    The graph first (missing `similar_to` links added, dangling relations deleted), then
    the vector store from the relational store. Verifies before and after; exits 3 if
    drift remains.

    Example: medkb sync repair --rebuild
    """

    from medkb.sync.graph import repair_graph
    from medkb.sync.repair import repair

    def work(kb: Any) -> tuple[RepairReport, GraphRepairReport | None]:
        graph = None
        if not no_graph:
            graph = repair_graph(kb.engine, tenant_id=kb.tenant_id, graph=kb.settings.graph)
        return repair(kb.engine, kb.store, tenant_id=kb.tenant_id, rebuild_all=rebuild), graph

    report, graph = run(ctx, work)
    if json_out:
        print_json({**report.to_dict(), "graph": graph.to_dict() if graph else None})
    else:
        if graph is not None:
            _print_graph_repair(graph)
        _print_repair(report)
    if not report.after.clean or (graph is not None and not graph.after.clean):
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


def _print_graph(report: GraphReport) -> None:
    if report.missing:
        shown = [f"{m.source}->{m.target}" for m in report.missing]
        console.print(
            f"Graph: {len(report.missing)} similar_to link(s) missing: {_sample(shown)}",
            highlight=False,
        )
    if report.dangling:
        shown = [f"#{row['id']} {row['source_id']}->{row['target_id']}" for row in report.dangling]
        console.print(
            f"Graph: {len(report.dangling)} dangling relation(s): {_sample(shown)}",
            highlight=False,
        )
    if report.clean:
        console.print(f"Graph: the links of {report.pairs} pair(s) match their embeddings.")
    else:
        console.print("Run 'medkb sync repair' to fix the graph.")


def _print_graph_repair(report: GraphRepairReport) -> None:
    console.print(
        f"Repaired the graph: added {report.added} missing link(s), removed {report.removed} "
        f"dangling relation(s). Graph drift before: {report.before.drift}, after: "
        f"{report.after.drift}."
    )
    if not report.after.clean:
        _print_graph(report.after)


def _sample(ids: Sequence[str], limit: int = 20) -> str:
    """At most ``limit`` ids, comma-separated, with a count of the rest."""
    rest = len(ids) - limit
    shown = ", ".join(ids[:limit])
    return f"{shown}, … and {rest} more" if rest > 0 else shown
