"""What each event does to the knowledge base, applied once per event id.

:class:`Applier` takes a batch of validated events and writes them through the same
code as every other write (``KnowledgeBase``: the writer, the ingestor, feedback):

- events whose id is in ``stream_applied`` are skipped (a redelivery);
- consecutive ``qa.upserted`` / ``qa.deleted`` events of one tenant are written as one
  batch (one embedder call, one transaction); when the batch is refused for one bad pair,
  its events are written one by one so that only the bad ones are rejected;
- ``behaviour.event`` rows are embedded (one embedder call per run, the text of
  :func:`~medkb.stores.relational.behaviour.describe`) and inserted, vectors included,
  with their ``stream_applied`` rows in one transaction; ``feedback.given`` replaces a
  rating (applying it twice changes nothing);
- an event is marked applied after its write commits. A worker killed between the two
  redelivers it, and the upsert finds the pair unchanged (the writer compares content
  hashes), so the outcome is the same.

Errors that are the event's fault (:class:`~medkb.errors.InputError`,
:class:`~medkb.errors.NotFound`) reject that event with a reason for the dead letters;
any other error (a store, the embedder) propagates: the batch stays on the bus.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql, sqlite

from medkb.errors import InputError, NotFound, SyncPending
from medkb.models import QAMetadata, QAPair, Source
from medkb.stores.objects.local import LocalObjectStore
from medkb.stores.relational.behaviour import describe, utc
from medkb.stores.relational.schema import behaviour_events, stream_applied
from medkb.stream.events import (
    BehaviourEventV1,
    DocumentUploadedV1,
    Event,
    FeedbackGivenV1,
    QADeletedV1,
    QAUpsertedV1,
)
from medkb.sync.apply import utcnow

if TYPE_CHECKING:
    from medkb.app import KnowledgeBase

P = TypeVar("P", bound=BaseModel)

#: Errors that are the event's fault: it goes to the dead letters, the rest goes on.
EVENT_ERRORS = (InputError, NotFound)
_PAIR_TYPES = ("qa.upserted", "qa.deleted")


@dataclass
class ApplyReport:
    """What one batch did, by event id."""

    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # event id → reason
    sync_pending: int = 0


class Applier:
    """Applies events to ``kb`` and its tenants' views."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.objects = LocalObjectStore(kb.settings.resolved_object_dir())

    def apply(self, events: Sequence[Event]) -> ApplyReport:
        """Apply a batch in order; see the module docstring for the guarantees."""
        report = ApplyReport()
        fresh = self._unapplied(events, report)
        for tenant, run in groupby(fresh, key=lambda e: (e.tenant, _kind(e))):
            with self._view(tenant[0]) as kb:
                self._apply_run(kb, list(run), report)
        return report

    def _unapplied(self, events: Sequence[Event], report: ApplyReport) -> list[Event]:
        ids = list({e.id for e in events})
        with self.kb.engine.connect() as conn:
            done = set(
                conn.execute(
                    sa.select(stream_applied.c.event_id).where(stream_applied.c.event_id.in_(ids))
                ).scalars()
            )
        fresh, seen = [], set()
        for event in events:
            if event.id in done or event.id in seen:
                report.skipped.append(event.id)
            else:
                seen.add(event.id)
                fresh.append(event)
        return fresh

    def _view(self, tenant: str) -> _View:
        return _View(self.kb, tenant)

    def _apply_run(self, kb: KnowledgeBase, run: list[Event], report: ApplyReport) -> None:
        kind = _kind(run[0])
        if kind == "pairs":
            self._pairs(kb, run, report)
        elif kind == "behaviour.event":
            self._behaviour(kb, run, report)
        else:
            handler = self._feedback if kind == "feedback.given" else self._document
            for event in run:
                self._one(kb, event, report, lambda e: handler(kb, e))

    def _pairs(self, kb: KnowledgeBase, run: list[Event], report: ApplyReport) -> None:
        try:
            self._write_pairs(kb, run, report)
        except EVENT_ERRORS:

            def alone(event: Event) -> None:
                self._write_pairs(kb, [event], report)

            for event in run:  # find the bad ones; the others are written
                self._one(kb, event, report, alone)
            return
        self._mark(kb, run, report)

    def _write_pairs(self, kb: KnowledgeBase, run: list[Event], report: ApplyReport) -> None:
        """Upserts and deletes in order: each same-kind stretch is one writer call."""
        for kind, stretch in groupby(run, key=lambda e: e.type):
            events = list(stretch)
            try:
                if kind == "qa.upserted":
                    latest = {p.id: p for p in (_pair(e) for e in events)}  # the last one wins
                    kb.writer.upsert(list(latest.values()))
                else:
                    kb.writer.delete([_payload(e, QADeletedV1).id for e in events])
            except SyncPending:
                report.sync_pending += 1  # committed; the outbox brings the vectors later

    def _one(
        self,
        kb: KnowledgeBase,
        event: Event,
        report: ApplyReport,
        handler: Callable[[Event], object],
    ) -> None:
        try:
            handler(event)
        except EVENT_ERRORS as exc:
            report.rejected[event.id] = f"{type(exc).__name__}: {exc}"
            return
        self._mark(kb, [event], report)

    def _feedback(self, kb: KnowledgeBase, event: Event) -> None:
        given = _payload(event, FeedbackGivenV1)
        kb.feedback(given.query_log_id, rating=given.rating, comment=given.comment)

    def _document(self, kb: KnowledgeBase, event: Event) -> None:
        uploaded = _payload(event, DocumentUploadedV1)
        data = self.objects.get(uploaded.key)
        name = PurePosixPath(uploaded.key).name or "document"
        with (
            tempfile.TemporaryDirectory(prefix="medkb-event-") as folder,
            self._view(event.tenant) as kb,
        ):
            path = Path(folder) / name
            path.write_bytes(data)
            ingested = kb.ingest([path], source_id=uploaded.source_id or name)
        if ingested.errors:
            raise InputError(f"Cannot ingest {uploaded.key!r}: {ingested.errors[0].error}")

    def _behaviour(self, kb: KnowledgeBase, run: list[Event], report: ApplyReport) -> None:
        now = utcnow()
        rows = [_behaviour_row(event, now) for event in run]
        vectors = kb.embedder.embed([str(row.pop("text")) for row in rows])
        for row, vector in zip(rows, vectors, strict=True):
            row["embedding"] = np.asarray(vector, dtype=np.float32).tobytes()
            row["embedding_model"] = kb.embedder.model_id
        insert = (postgresql if kb.engine.dialect.name == "postgresql" else sqlite).insert
        with kb.engine.begin() as conn:
            conn.execute(insert(behaviour_events).on_conflict_do_nothing(), rows)
            conn.execute(insert(stream_applied).on_conflict_do_nothing(), _applied_rows(run, now))
        report.applied += [e.id for e in run]

    def _mark(self, kb: KnowledgeBase, events: list[Event], report: ApplyReport) -> None:
        done = [e for e in events if e.id not in report.rejected]
        if not done:
            return
        insert = (postgresql if kb.engine.dialect.name == "postgresql" else sqlite).insert
        with kb.engine.begin() as conn:
            conn.execute(
                insert(stream_applied).on_conflict_do_nothing(), _applied_rows(done, utcnow())
            )
        report.applied += [e.id for e in done]


class _View:
    """``kb`` itself for its own tenant, else a tenant view closed on exit."""

    def __init__(self, kb: KnowledgeBase, tenant: str) -> None:
        self.kb, self.tenant = kb, tenant
        self.view: KnowledgeBase | None = None

    def __enter__(self) -> KnowledgeBase:
        if self.tenant == self.kb.tenant_id:
            return self.kb
        self.view = self.kb.for_tenant(self.tenant)
        return self.view

    def __exit__(self, *_exc: object) -> None:
        if self.view is not None:
            self.view.close()


def _kind(event: Event) -> str:
    """Events of one kind in a row are applied together."""
    return "pairs" if event.type in _PAIR_TYPES else event.type


def _payload(event: Event, model: type[P]) -> P:
    """``event``'s payload as ``model`` (the parser made it one)."""
    if not isinstance(event.payload, model):
        raise InputError(f"Event {event.id!r} is not a {model.__name__}.")
    return event.payload


def _pair(event: Event) -> QAPair:
    upserted = _payload(event, QAUpsertedV1)
    meta = upserted.metadata
    return QAPair(
        id=upserted.id,
        question=upserted.question,
        response=upserted.response,
        metadata=QAMetadata(**meta.model_dump()),
        sources=[Source(**s.model_dump()) for s in upserted.sources],
        tenant_id=event.tenant,
    )


def _behaviour_row(event: Event, now: object) -> dict[str, object]:
    seen = _payload(event, BehaviourEventV1)
    return {
        "event_id": event.id,
        "tenant_id": event.tenant,
        **seen.model_dump(exclude={"timestamp"}),
        "occurred_at": utc(seen.timestamp),
        "created_at": now,
        "text": describe(event_type=seen.event_type, item_id=seen.item_id, category=seen.category),
    }


def _applied_rows(events: list[Event], now: object) -> list[dict[str, object]]:
    return [
        {"event_id": e.id, "tenant_id": e.tenant, "type": e.type, "applied_at": now} for e in events
    ]
