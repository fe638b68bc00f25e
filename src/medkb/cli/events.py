"""``medkb events search``: ``behaviour.event`` interactions found by similarity."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from medkb.cli.context import console, print_json
from medkb.cli.help import TidyGroup
from medkb.cli.opening import read

events_app = typer.Typer(
    cls=TidyGroup,
    help="Search the user interactions (behaviour.event) the stream worker stored.\n\n"
    'Example: medkb events search "purchase cardiology" --top-k 5',
)


def _moment(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time (a time without an offset is UTC); else exit 2."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 date or time; use e.g. 2026-12-05 or "
            "2026-12-05T06:00:00+00:00.",
            param_hint=f"'{option}'",
        ) from exc


@events_app.command("search")
def events_search(
    ctx: typer.Context,
    text: Annotated[
        str,
        typer.Argument(metavar="TEXT", help="What the events are like, e.g. 'buy · cardiology'."),
    ],
    user: Annotated[str | None, typer.Option(metavar="U", help="Only this user's events.")] = None,
    category: Annotated[
        str | None, typer.Option(metavar="C", help="Only events of this category.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(metavar="ISO", help="Only events at or after this time."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(metavar="ISO", help="Only events before this time."),
    ] = None,
    event_type: Annotated[
        str | None, typer.Option("--type", metavar="T", help="Only events of this type.")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=1000, help="Events to return.")] = 10,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of text.")
    ] = False,
) -> None:
    """The stored interactions most similar to TEXT, filtered by user, category, type and time.

    Times are ISO 8601; one without an offset is UTC. --since is inclusive, --until not.

    Example: medkb events search "view cardiology" --category cardiology --top-k 5
    """
    start, end = _checked_window(_moment(since, "--since"), _moment(until, "--until"))
    hits = read(
        ctx,
        lambda kb: kb.similar_events(
            text,
            k=top_k,
            user=user,
            category=category,
            since=start,
            until=end,
            event_type=event_type,
        ),
    )
    if json_out:
        print_json({"query": text, "events": [h.to_dict() for h in hits]})
    else:
        _table(hits)


def _checked_window(
    since: datetime | None, until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """The parsed window; an empty one is a usage error (exit 2)."""
    from medkb.stores.relational.behaviour import utc

    if since is not None and until is not None and utc(since) >= utc(until):
        raise typer.BadParameter(
            f"--since ({since.isoformat()}) must be before --until ({until.isoformat()}).",
            param_hint="'--since'",
        )
    return since, until


def _table(hits: list[Any]) -> None:
    if not hits:
        console.print("No stored events match.")
        return
    table = Table("score", "when", "user", "type", "item", "category", "price")
    for hit in hits:
        table.add_row(
            f"{hit.score:.3f}",
            hit.occurred_at.isoformat(timespec="seconds"),
            hit.user_id,
            hit.event_type,
            hit.item_id or "",
            hit.category or "",
            "" if hit.price is None else f"{hit.price:g}",
        )
    console.print(table)
    console.print(f"{len(hits)} event(s).")
