"""Shared CLI plumbing: settings from the global options, error mapping, JSON output."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from medkb.errors import MedkbError
from medkb.redact import redact

if TYPE_CHECKING:
    from medkb.config import Settings

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")
#: Set to 1 to see the Python traceback of an unexpected error instead of one paragraph.
DEBUG_ENV = "MEDKB_DEBUG"
#: Exit code of an unexpected error (EX_SOFTWARE: a bug in medkb).
UNEXPECTED_EXIT = 70


class MedkbTyper(typer.Typer):
    """The command-line app: an error medkb did not expect still ends in one paragraph.

    Without ``MEDKB_DEBUG=1`` a user never sees a Python traceback: the message names the
    error, says nothing more was written than what had been committed, and how to see
    the traceback to report it.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # pypdf logs each flaw of a damaged PDF; medkb's own message about the file says it.
        logging.getLogger("pypdf").setLevel(logging.ERROR)
        try:
            return super().__call__(*args, **kwargs)
        except MedkbError as exc:  # raised outside a command's handled() block
            if debugging():
                raise
            show_error(exc)
            sys.exit(exc.exit_code)
        except Exception as exc:
            if debugging():
                raise
            errors.print(f"[bold red]Error:[/] {escape(unexpected_message(exc))}", highlight=False)
            sys.exit(UNEXPECTED_EXIT)


def show_error(exc: MedkbError) -> None:
    """Print a medkb error, with its notes, as one paragraph on stderr, credentials masked."""
    notes = "".join(f"\n  ({note})" for note in getattr(exc, "__notes__", []))
    errors.print(f"[bold red]Error:[/] {escape(redact(f'{exc}{notes}'))}", highlight=False)


def debugging() -> bool:
    """Whether ``MEDKB_DEBUG`` asks for tracebacks."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def unexpected_message(exc: BaseException) -> str:
    """One paragraph for an exception medkb did not anticipate, credentials masked."""
    lines = str(exc).strip().splitlines()
    detail = f": {redact(lines[0])}" if lines else ""
    return (
        f"medkb stopped on an unexpected {type(exc).__name__}{detail}. What was committed "
        "before it stays; the transaction in progress was rolled back. This is a bug in "
        f"medkb: run the command again with {DEBUG_ENV}=1 to see the traceback, and report it."
    )


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
        """Settings from the environment, overridden by the command line.

        Raises:
            ConfigError: a setting has an invalid value; the message names it.
        """
        from medkb.config import load_settings  # pydantic-settings: not needed for --help

        return load_settings(**self.overrides)


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
        show_error(exc)
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
