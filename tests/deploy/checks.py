"""What the deploy files are checked against: medkb's own settings, commands and metrics.

The deploy files (``deploy/``) name environment variables, ``medkb`` commands and metric
names. Each must be one medkb really reads, runs or exports.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from pydantic_settings import BaseSettings

from medkb.cli.context import DEBUG_ENV
from medkb.cli.main import app
from medkb.config import Settings
from medkb.stream.health import COUNTERS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

#: Read by medkb outside ``Settings``: the API factory's auth switch (``medkb serve`` sets it
#: for its workers; src/medkb/api/factory.py) and the CLI's traceback switch.
READ_OUTSIDE_SETTINGS = frozenset({"MEDKB_SERVE_AUTH", DEBUG_ENV})

MEDKB_VARIABLE = re.compile(r"\bMEDKB_[A-Z0-9_]*[A-Z0-9]")
METRIC = re.compile(r"\bmedkb_[a-z0-9_]+")
_METRIC_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def tool(name: str) -> str | None:
    """The path of a command-line tool: next to this Python first, then on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def setting_names(model: type[BaseModel] = Settings, prefix: str = "MEDKB_") -> set[str]:
    """Every environment variable ``model`` reads, nested groups joined by ``__``.

    A nested ``BaseSettings`` (``LLMSettings``) also reads its own prefix (``MEDKB_LLM_URL``).
    """
    names: set[str] = set()
    for field_name, field in model.model_fields.items():
        name = prefix + field_name.upper()
        names.add(name)
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            names |= setting_names(sub, name + "__")
            if issubclass(sub, BaseSettings):
                own = str(sub.model_config.get("env_prefix", ""))
                names |= {own + f.upper() for f in sub.model_fields}
    return names


def known_variables() -> set[str]:
    """The MEDKB_* names a deploy file may use."""
    return setting_names() | READ_OUTSIDE_SETTINGS


def unknown_variables(texts: Iterable[str]) -> set[str]:
    """MEDKB_* names in ``texts`` that medkb does not read."""
    known = known_variables()
    return {name for text in texts for name in MEDKB_VARIABLE.findall(text)} - known


def exported_metrics() -> set[str]:
    """Metric names medkb's source registers (``"medkb_…"`` string literals), and the
    stream worker's counters (``medkb_stream_<name>_total``, src/medkb/stream/health.py)."""
    found = {f"medkb_stream_{name}_total" for name in COUNTERS}
    for path in (ROOT / "src" / "medkb").rglob("*.py"):
        found |= set(re.findall(r"[\"'](medkb_[a-z0-9_]+)[\"']", path.read_text()))
    return found


def unknown_metrics(texts: Iterable[str]) -> set[str]:
    """medkb_* series in ``texts`` (PromQL) that no medkb process exports."""
    known = exported_metrics()
    unknown = set()
    for text in texts:
        for series in METRIC.findall(text):
            base = next((series[: -len(s)] for s in _METRIC_SUFFIXES if series.endswith(s)), series)
            if series not in known and base not in known:
                unknown.add(series)
    return unknown


def command_problems(args: list[str]) -> list[str]:
    """Why ``medkb <args>`` would not run: an unknown command or option ([] when it would)."""
    # typer carries its own copy of click: look for sub-commands, not for a click type.
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    rest = list(args)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        path.append(rest.pop(0))
        command = command.commands.get(path[-1])
        if command is None:
            return [f"medkb has no command {' '.join(path)!r}"]
    return _option_problems(command, path, rest)


def _option_problems(command: Any, path: list[str], rest: list[str]) -> list[str]:
    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    return [
        f"medkb {' '.join(path)} has no option {token.split('=', 1)[0]}"
        for token in rest
        if token.startswith("--") and token.split("=", 1)[0] not in options
    ]


def walk(node: Any) -> Iterator[Any]:
    """Every dict and list inside a parsed YAML/JSON document, depth first."""
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from walk(child)
