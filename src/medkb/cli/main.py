"""The ``medkb`` command line: thin wrappers over :class:`medkb.app.KnowledgeBase`.

Start-up matters here (``medkb --help`` should feel instant), so this module and the
command modules import only typer and rich at the top; each command imports the parts of
medkb it runs, and the heavy libraries (torch, faiss, pandas) load only where they are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from medkb import __version__
from medkb.cli import render
from medkb.cli.access import audit_app, keys_app, tenants_app
from medkb.cli.backup import backup_command, restore_command
from medkb.cli.context import (
    MedkbTyper,
    State,
    console,
    parse_pairs,
    print_json,
    progress_bar,
    state,
)
from medkb.cli.evaluate import evaluate_command
from medkb.cli.events import events_app
from medkb.cli.help import TidyGroup
from medkb.cli.maintain import migrate_command, reembed_command
from medkb.cli.opening import metadata_edits, read, run
from medkb.cli.serve import serve_command
from medkb.cli.stream import dlq_app, produce_command
from medkb.cli.sync import sync_app
from medkb.cli.transfer import export_command, import_command
from medkb.cli.ui import ui_command
from medkb.cli.worker import worker_command
from medkb.errors import InputError

app = MedkbTyper(
    cls=TidyGroup,
    help="medkb: a medical Q&A knowledge base with hybrid search, GraphRAG and cited sources.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(sync_app, name="sync")
app.add_typer(tenants_app, name="tenants")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(dlq_app, name="dlq")
app.add_typer(events_app, name="events")
app.command("serve")(serve_command)
app.command("ui")(ui_command)
app.command("eval")(evaluate_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.command("worker")(worker_command)
app.command("produce")(produce_command)
app.command("migrate")(migrate_command)
app.command("reembed")(reembed_command)
app.command("export")(export_command)
app.command("import")(import_command)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Also show the query log id and stage timings.")
]
Mode = Literal["hybrid", "dense", "keyword"]


def _print_version(value: bool) -> None:
    if value:
        console.print(f"medkb {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Data directory (env MEDKB_HOME; default ./medkb-data)."),
    ] = None,
    embedder: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Embedding model: minilm or static (env MEDKB_EMBEDDER; default the one "
            "the knowledge base was built with, minilm for a new one).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Global options shared by every command; they go before the command's name:
    medkb --home ./kb query "..."."""
    ctx.obj = State(home, embedder)


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    overlong: Annotated[
        Literal["keep", "error", "truncate"],
        typer.Option(
            help="Q&A rows over 5,000 / 10,000 characters: 'keep' (store them whole), "
            "'error' (refuse the file) or 'truncate' (cut them)."
        ),
    ] = "keep",
    source_id: Annotated[
        str | None,
        typer.Option(
            "--source-id",
            help="Document id for a file (default: its name), or the prefix replacing a "
            "folder's name (default: docs/ gives docs/cardio/faq.md).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Ingest files and folders: JSONL/CSV Q&A, MedQuAD XML, PDF, DOCX, HTML, Markdown, text.

    Each file is one document, known by its path in the folder given (docs/cardio/faq.md)
    or, for a file given by itself, by its name. README/LICENSE-style files in folders are
    skipped. Exits 0 when no file failed.

    Example: medkb ingest ./guidelines ./faq.pdf
    """

    def work(kb: Any) -> Any:
        with progress_bar(json_out) as bar:
            task = bar.add_task("ingest", total=None)
            report = kb.ingest(
                paths,
                overlong=overlong,
                source_id=source_id,
                progress=lambda done, total, name: bar.update(
                    task, completed=done, total=total, description=name
                ),
            )
        return report

    report = run(ctx, work)
    print_json(report.to_dict()) if json_out else render.ingest_report(report)
    if report.errors:
        raise typer.Exit(InputError.exit_code)


@app.command()
def query(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The question.")],
    top_k: Annotated[
        int | None, typer.Option("--top-k", min=1, max=100, help="Hits to return (default 10).")
    ] = None,
    depth: Annotated[int, typer.Option(min=0, max=2, help="Graph expansion depth.")] = 1,
    filter_: Annotated[
        list[str] | None,
        typer.Option("--filter", metavar="KEY=VALUE", help="Metadata filter (repeatable)."),
    ] = None,
    mode: Annotated[Mode, typer.Option(help="Which retrievers run.")] = "hybrid",
    verbose: VerboseOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Answer a question with cited sources.

    Example: medkb query "What are the symptoms of high blood pressure?" --top-k 3
    """
    filters = parse_pairs(filter_ or [], "--filter")
    result = read(
        ctx, lambda kb: kb.query(text, top_k=top_k, depth=depth, filters=filters, mode=mode)
    )
    print_json(result.to_dict()) if json_out else render.query_result(result, verbose=verbose)


@app.command()
def get(
    ctx: typer.Context,
    qa_id: Annotated[str, typer.Argument(metavar="ID", help="The pair id.")],
    json_out: JsonOpt = False,
) -> None:
    """Show one pair, its metadata, sources and relations ('medkb query' shows pair ids).

    Example: medkb get demo-012
    """
    data = read(ctx, lambda kb: kb.get(qa_id))
    print_json(data) if json_out else render.pair(data)


@app.command()
def update(
    ctx: typer.Context,
    qa_id: Annotated[str, typer.Argument(metavar="ID", help="The pair id.")],
    question: Annotated[str | None, typer.Option(help="New question text.")] = None,
    response: Annotated[str | None, typer.Option(help="New response text.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Metadata to change (repeatable)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Edit a pair; it is re-embedded and its graph neighbourhood re-linked.

    Example: medkb update demo-036 --set category=Vaccination --set is_active=true
    """
    metadata = metadata_edits(parse_pairs(set_ or [], "--set"))
    result = run(
        ctx, lambda kb: kb.update(qa_id, question=question, response=response, metadata=metadata)
    )
    changed = "updated" if result.updated else "unchanged"
    print_json({"id": qa_id, "status": changed}) if json_out else console.print(
        f"{qa_id}: {changed}"
    )


@app.command()
def delete(
    ctx: typer.Context,
    qa_id: Annotated[str, typer.Argument(metavar="ID", help="The pair id.")],
    json_out: JsonOpt = False,
) -> None:
    """Delete a pair and every relation pointing at it.

    Example: medkb delete demo-050
    """
    run(ctx, lambda kb: kb.delete(qa_id))
    print_json({"id": qa_id, "status": "deleted"}) if json_out else console.print(
        f"{qa_id}: deleted"
    )


@app.command()
def feedback(
    ctx: typer.Context,
    query_log_id: Annotated[int, typer.Argument(help="The query_log_id of an answer.")],
    rating: Annotated[int, typer.Option(min=1, max=5, help="1 (useless) to 5 (excellent).")],
    comment: Annotated[str | None, typer.Option(help="Free text.")] = None,
) -> None:
    """Rate an answer.

    Example: medkb feedback 1 --rating 5 --comment "clear and sourced"
    """
    run(ctx, lambda kb: kb.feedback(query_log_id, rating=rating, comment=comment))
    console.print(f"Feedback recorded for query {query_log_id}.")


@app.command()
def stats(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Counts per store, categories, relations, queries and average latency.

    Example: medkb stats --json
    """
    data = read(ctx, lambda kb: kb.stats())
    print_json(data) if json_out else render.stats(data)


@app.command()
def demo(ctx: typer.Context, verbose: VerboseOpt = False) -> None:
    """Build a small medical knowledge base from the bundled data and ask it questions.

    Example: medkb --home ./medkb-demo demo
    """
    from medkb.demo import DEMO_QUESTIONS, demo_files

    def work(kb: Any) -> Path:
        with progress_bar(False) as bar:
            task = bar.add_task("ingest", total=None)
            report = kb.ingest(
                demo_files(),
                progress=lambda done, total, name: bar.update(
                    task, completed=done, total=total, description=name
                ),
            )
        render.ingest_report(report)
        for question in DEMO_QUESTIONS:
            render.query_result(kb.query(question, top_k=3), verbose=verbose)
        return Path(kb.settings.home)

    home = run(ctx, work)
    render.next_steps(home, given="home" in state(ctx).overrides)
