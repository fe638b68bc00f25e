"""``medkb sync …``: keep the vector store in step with the relational store."""

from __future__ import annotations

import typer

from medkb.cli.context import console, run

sync_app = typer.Typer(help="Keep the vector store in step with the relational store.")


@sync_app.command("repair")
def sync_repair(ctx: typer.Context) -> None:
    """Apply every pending change to the vector store.

    Example: medkb sync repair
    """
    applied = run(ctx, lambda kb: kb.sync())
    console.print(f"Applied {applied} pending change(s) to the vector store.")
