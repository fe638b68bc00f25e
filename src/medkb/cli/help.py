"""Help screens without type noise: ``TEXT`` rather than ``<str>``, nothing for a flag.

Typer prints each parameter's Python annotation (``<bool>``, ``<list[Path]>``,
``<int range>``) beside it. :class:`TidyGroup`, given as ``cls`` to every ``typer.Typer``,
swaps each parameter of its commands for a subclass that shows what a user types
instead: nothing for a flag, the choices for a choice, a click-style word otherwise.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperGroup

#: Words shown instead of Typer's type labels (without their ``<>``).
_WORDS = {"str": "TEXT", "int": "INTEGER", "int range": "INTEGER", "float": "NUMBER"}


def _type_word(param: Any, ctx: Any) -> str | None:
    """What a user types for ``param``: ``None`` for a flag or an argument (its name says
    it), the choices for a choice, else a word such as TEXT or INTEGER."""
    if getattr(param, "is_flag", False) or isinstance(param, TyperArgument):
        return None
    if param.metavar is not None:
        return str(param.metavar)
    if not hasattr(param, "display_type"):
        return None
    label = str(param.display_type(ctx)).strip("<>")
    if label.startswith("list[") and label.endswith("]"):
        label = label[5:-1]
    if "|" in label:
        return label
    return _WORDS.get(label, label.split()[0].upper())


def _display_type_rich(self: Any, ctx: Any) -> str | None:
    return _type_word(self, ctx)


_TIDY_CLASSES: dict[type, type] = {}


def _tidy_class(cls: type) -> type:
    """A subclass of ``cls`` (a Typer or click parameter class) with the quiet display."""
    if cls not in _TIDY_CLASSES:
        attrs = {"display_type_rich": _display_type_rich}
        _TIDY_CLASSES[cls] = type(f"Tidy{cls.__name__}", (cls,), attrs)
    return _TIDY_CLASSES[cls]


def tidy(params: list[Any]) -> list[Any]:
    """Give ``params`` the quieter help display (idempotent); returns them."""
    for param in params:
        if not type(param).__name__.startswith("Tidy"):
            param.__class__ = _tidy_class(type(param))
    return params


class TidyGroup(TyperGroup):
    """A Typer group whose commands' (and own) help show no Python type annotations."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            help_option = command.get_help_option(ctx)  # created once, then cached
            tidy([*command.params, *([help_option] if help_option is not None else [])])
        return command

    def get_params(self, ctx: Any) -> list[Any]:
        return tidy(super().get_params(ctx))
