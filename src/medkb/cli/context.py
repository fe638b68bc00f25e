"""Shared CLI plumbing: settings from the global options, error mapping, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from medkb.errors import MedkbError

if TYPE_CHECKING:
    from medkb.config import Settings

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")


class State:
    """What the global options said; the knowledge base is opened on first use."""

    def __init__(self, home: Path | None, embedder: str | None) -> None:
        overrides: dict[str, Any] = {}
        if home is not None:
            overrides["home"] = home
        if embedder is not None:
            overrides["embedder"] = embedder
        self.overrides = overrides

    def settings(self) -> Settings:
        """Settings from the environment, overridden by the command line."""
        from medkb.config import Settings  # pydantic-settings: not needed for --help

        return Settings(**self.overrides)


def state(ctx: typer.Context) -> State:
    """The :class:`State` the main callback stored."""
    found = ctx.obj
    assert isinstance(found, State)
    return found


@contextmanager
def handled() -> Iterator[None]:
    """Turn medkb errors into a message on stderr and their exit code."""
    try:
        yield
    except MedkbError as exc:
        notes = "".join(f"\n  ({note})" for note in getattr(exc, "__notes__", []))
        errors.print(f"[bold red]Error:[/] {exc}{notes}", highlight=False)
        raise typer.Exit(exc.exit_code) from exc


def run(ctx: typer.Context, work: Callable[[Any], T]) -> T:
    """Open the knowledge base, run ``work`` on it, close it; map errors."""
    from medkb.app import build

    with handled():
        settings = state(ctx).settings()
        with build(settings) as kb:
            return work(kb)


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def parse_pairs(values: list[str], option: str) -> dict[str, list[str]]:
    """Parse repeated ``key=value`` options; a key given twice keeps both values."""
    parsed: dict[str, list[str]] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key.strip():
            errors.print(f"[bold red]Error:[/] {option} expects key=value, got {value!r}.")
            raise typer.Exit(2)
        parsed.setdefault(key.strip(), []).append(item.strip())
    return parsed


def progress_bar(quiet: bool) -> Progress:
    """The progress bar long commands show (hidden with ``--json`` or in a pipe)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        # Off when output is not a terminal: rich would leave a blank line in the output.
        disable=quiet or not console.is_terminal,
        transient=True,
    )
