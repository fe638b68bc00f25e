"""``medkb produce``: events from a JSONL file onto a bus, checked before the first is sent.

Each line is one event. A line without ``id`` gets a fresh one and a line without
``time`` the current time; every line is then validated (:func:`parse_event`) unless
``raw`` is asked (to feed invalid events on purpose: demos, tests of the dead letters).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from medkb.errors import InputError
from medkb.stream.bus.base import Bus
from medkb.stream.events import InvalidEvent, parse_event

#: Events published per bus call.
CHUNK = 500


@dataclass
class ProduceReport:
    """What ``produce`` sent."""

    topic: str
    events: int
    first_id: str | None
    last_id: str | None


def read_events(path: Path, *, raw: bool = False) -> list[str]:
    """The file's events as bodies to publish.

    Raises:
        InputError: the file cannot be read, or (unless ``raw``) a line is not a valid
            event; every bad line is named, and nothing is sent.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read {path}: {exc}. Give a UTF-8 JSONL file.") from exc
    bodies, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        body = line if raw else _completed(line)
        if not raw:
            try:
                parse_event(body)
            except InvalidEvent as exc:
                problems.append(f"line {number}: {str(exc).rstrip('.')}")
                continue
        bodies.append(body)
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; … {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise InputError(
            f"{path} has {len(problems)} invalid event(s), so nothing was sent: {shown}. Fix "
            "them, or pass --raw to send the lines as they are."
        )
    return bodies


def _completed(line: str) -> str:
    """The line with a fresh ``id`` / the current ``time`` when it lacks them."""
    try:
        data = json.loads(line)
    except ValueError:
        return line  # parse_event reports it
    if not isinstance(data, dict):
        return line
    data.setdefault("id", uuid.uuid4().hex)
    data.setdefault("time", datetime.now(UTC).isoformat())
    return json.dumps(data, ensure_ascii=False)


def produce(bus: Bus, topic: str, bodies: list[str]) -> ProduceReport:
    """Publish ``bodies`` to ``topic`` in chunks of :data:`CHUNK`."""
    ids: list[str] = []
    for chunk in _chunks(bodies):
        ids += bus.publish(topic, chunk)
    return ProduceReport(topic, len(ids), ids[0] if ids else None, ids[-1] if ids else None)


def _chunks(bodies: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(bodies), CHUNK):
        yield bodies[start : start + CHUNK]
