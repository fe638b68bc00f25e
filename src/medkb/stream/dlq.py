"""``medkb dlq``: read dead letters and send them back to their topic.

A replay publishes the dead letter's original body — or, with a fix, a corrected event
that must be valid — to the topic, then removes the dead letter. A crash between the two
leaves the dead letter, and replaying it again is harmless: the event id makes the
consumer apply it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medkb.errors import InputError, NotFound
from medkb.stream.bus.base import Bus, DeadLetter
from medkb.stream.events import parse_event


@dataclass
class ReplayReport:
    """Which dead letters went back to the topic."""

    topic: str
    replayed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"topic": self.topic, "replayed": self.replayed}


def find(bus: Bus, topic: str, dead_id: str, *, limit: int = 100_000) -> DeadLetter:
    """One dead letter of ``topic``.

    Raises:
        NotFound: no such dead letter; the message says how to list them.
    """
    for dead in bus.dead_letters(topic, limit=limit):
        if dead.id == dead_id:
            return dead
    raise NotFound(
        f"No dead letter {dead_id!r} on topic {topic!r}. 'medkb dlq list --topic {topic}' "
        "lists them."
    )


def replay(bus: Bus, topic: str, ids: list[str], *, fixed: str | None = None) -> ReplayReport:
    """Publish the dead letters ``ids`` (all of them when empty) again, then remove them.

    ``fixed``: a corrected event body replacing the payload of the one dead letter named;
    it is validated first, so a fix that is still wrong is refused and nothing changes.
    """
    chosen = [find(bus, topic, i) for i in ids] if ids else bus.dead_letters(topic, limit=100_000)
    if fixed is not None and len(chosen) != 1:
        raise InputError("--fix replaces one dead letter's event: name exactly one ID.")
    if fixed is not None:
        parse_event(fixed)  # raises InvalidEvent (exit 65) naming what is still wrong
    report = ReplayReport(topic)
    for dead in chosen:
        bus.publish(topic, [fixed if fixed is not None else dead.payload])
        bus.remove_dead_letter(topic, dead.id)
        report.replayed.append(dead.id)
    return report
