"""How command results look in a terminal (``--json`` bypasses all of this)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from medkb.cli.context import console
from medkb.ingest.pipeline import IngestReport
from medkb.search.results import QueryResult


def query_result(result: QueryResult) -> None:
    """The answer (urgent notice first, in a red frame), warnings, then the ranked hits."""
    info = result.info
    style = "red" if info.safety else ("yellow" if info.abstained else "none")
    title = result.query + (f" · {info.mode} answer" if info.mode != "extractive" else "")
    console.print(
        Panel(escape(result.answer), title=escape(title), title_align="left", border_style=style)
    )
    if info.safety:
        console.print(
            f"[bold red]Emergency signs detected[/] ({info.safety['category']}: "
            f'"{escape(info.safety["cue"])}")'
        )
    for warning in info.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    for sentence in info.uncited_sentences:
        console.print(f"[yellow]uncited:[/] {escape(sentence)}")
    for hit_number, hit in enumerate(result.hits, start=1):
        source = hit.pair.sources[0] if hit.pair.sources else None
        where = _where(source) if source else (hit.pair.metadata.source or "")
        graph = " [dim](via graph)[/]" if hit.via_graph else ""
        console.print(
            f"[bold][{hit_number}][/] {hit.pair.question} [dim]({hit.pair.id}, "
            f"score {hit.score:.4f})[/]{graph}\n    [cyan]{where}[/]"
        )
    timings = ", ".join(f"{k} {v:.0f} ms" for k, v in result.timings_ms.items())
    console.print(f"[dim]query_log_id {result.query_log_id} · {timings}[/]")


def _where(source: Any) -> str:
    parts = [source.document]
    if source.page:
        parts.append(f"p. {source.page}")
    if source.section:
        parts.append(source.section)
    if source.url:
        parts.append(source.url)
    return " · ".join(str(part) for part in parts)


def ingest_report(report: IngestReport) -> None:
    """Counts, then the skipped files and any per-file errors."""
    data = report.to_dict()
    console.print(
        f"Ingested {data['files']} file(s), {data['pairs']} pair(s): {data['created']} new, "
        f"{data['updated']} updated, {data['unchanged']} unchanged, {data['removed']} removed, "
        f"{data['skipped']} skipped."
    )
    console.print(f"Files: {data['failed_files']} failed, {len(report.skipped_files)} skipped.")
    for skipped in report.skipped_files:
        console.print(f"[yellow]- {skipped.path}[/]: skipped, {skipped.reason}")
    for error in report.errors:
        console.print(f"[red]✗ {error.path}[/]: {error.error}")


def pair(data: dict[str, Any]) -> None:
    """One stored pair with its metadata, sources and relations."""
    console.print(
        Panel(data["response"], title=f"{data['id']}: {data['question']}", title_align="left")
    )
    table = Table(show_header=False, box=None)
    for key, value in data["metadata"].items():
        if value not in (None, [], {}):
            table.add_row(f"[bold]{key}[/]", str(value))
    console.print(table)
    for source in data["sources"]:
        console.print(
            f"[cyan]source[/] {source['document']} page={source['page']} "
            f"section={source['section']!r}"
        )
    for rel in data["relations"]:
        console.print(f"[magenta]{rel['type']}[/] → {rel['target_id']} ({rel['confidence']:.2f})")
    console.print(f"[dim]sync: {data['sync']}[/]")


def stats(data: dict[str, Any]) -> None:
    """The stats mapping as a two-column table."""
    table = Table(show_header=False)
    for key, value in data.items():
        table.add_row(
            key,
            ", ".join(f"{k}: {v}" for k, v in value.items())
            if isinstance(value, dict)
            else str(value),
        )
    console.print(table)
