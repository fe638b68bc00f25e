"""``medkb produce`` and ``medkb dlq …``: events onto a bus, and its dead letters back.

``medkb worker --bus`` (the consumer) lives in :mod:`medkb.cli.worker`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medkb.cli.context import console, handled, print_json, state
from medkb.cli.help import TidyGroup

if TYPE_CHECKING:
    from medkb.stream.bus.base import Bus

BusOpt = Annotated[
    str,
    typer.Option(
        "--bus",
        metavar="URL",
        help="db (the knowledge base's database), sqlite:///FILE, postgresql://…, "
        "redis://HOST:PORT/DB or kafka://HOST:PORT.",
    ),
]
TopicOpt = Annotated[str, typer.Option("--topic", metavar="NAME", help="The topic (stream).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]

dlq_app = typer.Typer(
    cls=TidyGroup,
    help="Inspect and replay a topic's dead letters (events a worker could not apply).\n\n"
    "Example: medkb dlq list --bus db --topic medkb-events",
)


def open_cli_bus(ctx: typer.Context, url: str) -> Bus:
    """The bus ``url`` names, with ``db`` meaning the knowledge base's database."""
    from medkb.stream.bus.registry import open_bus

    settings = state(ctx).settings()
    if url == "db":
        settings.home.mkdir(parents=True, exist_ok=True)
    return open_bus(
        url,
        database_url=settings.resolved_database_url(),
        visibility_s=settings.stream.visibility_s,
    )


def produce_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.jsonl", help="One event per line.")],
    bus: BusOpt = "db",
    topic: TopicOpt = "medkb-events",
    raw: Annotated[
        bool, typer.Option("--raw", help="Send lines as they are, without validating them.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Publish the events of a JSONL file to a topic (all are checked before any is sent).

    A line without "id" gets a fresh one, without "time" the current time.

    Example: medkb produce events.jsonl --bus db --topic medkb-events
    """
    from medkb.stream.produce import produce, read_events

    with handled():
        bodies = read_events(file, raw=raw)
        opened = open_cli_bus(ctx, bus)
        try:
            report = produce(opened, topic, bodies)
        finally:
            opened.close()
    if json_out:
        print_json(vars(report))
    else:
        console.print(f"Published {report.events} event(s) to {topic} on {opened.url}.")


@dlq_app.command("list")
def dlq_list(
    ctx: typer.Context,
    bus: BusOpt = "db",
    topic: TopicOpt = "medkb-events",
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 100,
    json_out: JsonOpt = False,
) -> None:
    """List a topic's dead letters, oldest first, with their reasons.

    Example: medkb dlq list --bus db --topic medkb-events
    """
    dead = _with_bus(ctx, bus, lambda b: b.dead_letters(topic, limit=limit))
    if json_out:
        print_json([d.to_dict() for d in dead])
        return
    for letter in dead:
        console.print(f"{letter.id}  {letter.created_at}  {letter.reason}", highlight=False)
    console.print(f"{len(dead)} dead letter(s) on {topic}.")


@dlq_app.command("show")
def dlq_show(
    ctx: typer.Context,
    dead_id: Annotated[str, typer.Argument(metavar="ID", help="A dead letter's id.")],
    bus: BusOpt = "db",
    topic: TopicOpt = "medkb-events",
) -> None:
    """Print one dead letter as JSON: reason, original payload and origin.

    Example: medkb dlq show 12 --topic medkb-events
    """
    from medkb.stream.dlq import find

    print_json(_with_bus(ctx, bus, lambda b: find(b, topic, dead_id)).to_dict())


@dlq_app.command("replay")
def dlq_replay(
    ctx: typer.Context,
    dead_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[ID]...", help="Dead letters (default: all).")
    ] = None,
    bus: BusOpt = "db",
    topic: TopicOpt = "medkb-events",
    fix: Annotated[
        Path | None,
        typer.Option(
            "--fix",
            metavar="FILE",
            help="A corrected event (JSON) to send instead of the one dead letter named.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Send dead letters back to their topic (as they were, or corrected with --fix).

    Example: medkb dlq replay 12 --topic medkb-events --fix fixed-event.json
    """
    from medkb.errors import InputError
    from medkb.stream.dlq import replay

    def work(opened: Any) -> Any:
        fixed = None
        if fix is not None:
            try:
                fixed = fix.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise InputError(f"Cannot read --fix {fix}: {exc}.") from exc
        return replay(opened, topic, list(dead_ids or []), fixed=fixed)

    report = _with_bus(ctx, bus, work)
    if json_out:
        print_json(report.to_dict())
    else:
        console.print(f"Replayed {len(report.replayed)} dead letter(s) to {topic}.")


def _with_bus(ctx: typer.Context, url: str, work: Any) -> Any:
    with handled():
        opened = open_cli_bus(ctx, url)
        try:
            return work(opened)
        finally:
            opened.close()
