"""Opening the knowledge base for a command: read commands do not create a home, the
one-time distillation of the static embedder is announced with a progress bar, and
``--set`` values are checked as usage errors (exit 2) before anything is opened.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from medkb.cli import context
from medkb.errors import InputError, NotFound

T = TypeVar("T")
_notices = Console(stderr=True)


def run(ctx: typer.Context, work: Callable[[Any], T]) -> T:
    """:func:`medkb.cli.context.run`, with the embedder prepared first (see the module doc)."""

    def prepared(kb: Any) -> T:
        prepare_embedder(kb.embedder)
        return work(kb)

    return context.run(ctx, prepared)


def read(ctx: typer.Context, work: Callable[[Any], T]) -> T:
    """:func:`run` for commands that only read (``query``, ``get``, ``stats``).

    A home without a knowledge base is reported, with how to fill it, instead of being
    created empty as a side effect of a typo.
    """
    with context.handled():
        settings = context.state(ctx).settings()
        if settings.home.exists() and not settings.home.is_dir():
            from medkb.app import make_home

            make_home(settings.home)  # raises the ConfigError that names the bad --home
        if settings.database_url is None and not (settings.home / "medkb.db").exists():
            home = shlex.quote(str(settings.home))
            raise NotFound(
                f"There is no knowledge base in {settings.home} yet: it is new or empty. "
                f"Fill it with 'medkb --home {home} ingest FILES...', or try the bundled "
                f"demo with 'medkb --home {home} demo'."
            )
    return run(ctx, work)


def prepare_embedder(embedder: Any) -> None:
    """Distil the static embedder now, with a progress bar, if its cache lacks the model.

    It happens once per machine (the model is cached in ``MEDKB_CACHE_DIR``) and takes a
    minute or more, which without a word looks like a hung command.
    """
    is_cached = getattr(embedder, "is_cached", None)
    if is_cached is None or is_cached():
        return
    _notices.print(
        f"Preparing the static embedding model: distilling it from all-MiniLM-L6-v2. This "
        f"happens once per machine (about a minute); it is then cached in "
        f"{embedder.model_dir}.",
        highlight=False,
    )
    with Progress(
        TextColumn("distilling"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_notices,
        transient=True,
    ) as bar:
        task = bar.add_task("distil", total=None)
        embedder.load(progress=lambda done, total: bar.update(task, completed=done, total=total))
    _notices.print(f"Done in {embedder.distill_seconds or 0:.0f} s.", highlight=False)


def metadata_edits(pairs: dict[str, list[str]]) -> dict[str, str]:
    """``--set`` edits, the last value of a repeated key winning; a bad value exits 2."""
    from medkb.app import check_metadata

    edits = {key: values[-1] for key, values in pairs.items()}
    try:
        check_metadata(edits)
    except InputError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--set'") from exc
    return edits
