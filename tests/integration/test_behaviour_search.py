"""``behaviour.event`` interactions applied through the stream apply path are embedded
and found by similarity, filtered by user, category, type and time, never across tenants
(SPEC §D; issue 12)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase
from medkb.errors import InputError
from medkb.stores.relational import engine as relational
from medkb.stores.relational.behaviour import describe, similar_events
from medkb.stores.relational.schema import behaviour_events
from medkb.stream.apply import Applier
from medkb.stream.events import make_event, parse_event
from tests.integration.test_migration_0004 import alembic

T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
#: (event id, user, type, item, category, hours after T0)
EVENTS = [
    ("e1", "alice", "purchase", "item-42", "cardiology", 0),
    ("e2", "alice", "view", "item-7", "diabetes", 1),
    ("e3", "bob", "purchase", "item-42", "cardiology", 2),
    ("e4", "bob", "view", "item-9", "cardiology", 3),
    ("e5", "carol", "click", "item-3", "dermatology", 4),
    ("e6", "alice", "purchase", "item-8", "diabetes", 5),
    ("e7", "carol", "view", "item-42", "cardiology", 6),
]


def event(
    event_id: str, user: str, kind: str, item: str, category: str, hours: int, **envelope: Any
) -> Any:
    payload = {
        "user_id": user,
        "session_id": f"s-{user}",
        "event_type": kind,
        "item_id": item,
        "category": category,
        "price": 9.5,
        "timestamp": (T0 + timedelta(hours=hours)).isoformat(),
    }
    return parse_event(json.dumps(make_event("behaviour.event", payload, id=event_id, **envelope)))


@pytest.fixture
def applied(kb: KnowledgeBase) -> KnowledgeBase:
    report = Applier(kb).apply([event(*e) for e in EVENTS])
    assert sorted(report.applied) == sorted(e[0] for e in EVENTS)
    return kb


def ids(hits: list[Any]) -> set[str]:
    return {h.event_id for h in hits}


def test_applied_events_are_stored_with_their_embedding_and_found_by_similarity(
    applied: KnowledgeBase,
) -> None:
    with applied.engine.connect() as conn:
        rows = conn.execute(sa.select(behaviour_events)).all()
    assert {r.embedding_model for r in rows} == {applied.embedder.model_id}
    assert {len(r.embedding) for r in rows} == {applied.embedder.dimension * 4}
    hits = applied.similar_events("purchase · item-8 · diabetes", k=3)
    assert hits[0].event_id == "e6" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].user_id == "alice" and hits[0].occurred_at == T0 + timedelta(hours=5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(hits) == 3


def test_filters_by_user_category_type_and_time(applied: KnowledgeBase) -> None:
    text = describe(event_type="purchase", item_id="item-42", category="cardiology")
    search = applied.similar_events
    assert ids(search(text, k=50, user="alice")) == {"e1", "e2", "e6"}
    assert ids(search(text, k=50, category="cardiology")) == {"e1", "e3", "e4", "e7"}
    assert ids(search(text, k=50, event_type="view")) == {"e2", "e4", "e7"}
    window = search(text, k=50, since=T0 + timedelta(hours=2), until=T0 + timedelta(hours=5))
    assert ids(window) == {"e3", "e4", "e5"}  # since inclusive, until exclusive
    both = search(text, k=50, user="bob", category="cardiology", event_type="purchase")
    assert ids(both) == {"e3"}
    assert search(text, k=50, user="nobody") == []


def test_times_of_other_zones_compare_as_instants(applied: KnowledgeBase) -> None:
    plus_two = timezone(timedelta(hours=2))
    since = (T0 + timedelta(hours=4)).astimezone(plus_two)  # 12:00+02:00 == 10:00Z
    found = applied.similar_events("view", k=50, since=since)
    assert ids(found) == {"e5", "e6", "e7"}
    naive = applied.similar_events("view", k=50, until=datetime(2026, 12, 5, 7, 0))  # UTC
    assert ids(naive) == {"e1"}


def test_another_tenants_events_are_never_returned(applied: KnowledgeBase) -> None:
    Applier(applied).apply(
        [event("x1", "alice", "purchase", "item-8", "diabetes", 0, tenant="other")]
    )
    text = "purchase · item-8 · diabetes"
    assert "x1" not in ids(applied.similar_events(text, k=1000))
    with applied.for_tenant("other") as other:
        assert ids(other.similar_events(text, k=1000)) == {"x1"}


def test_ranking_is_the_same_whatever_the_batch_size(applied: KnowledgeBase) -> None:
    vector = applied.embedder.embed(["view · item-42 · cardiology"])[0]
    whole = similar_events(applied.engine, "default", vector, k=4)
    for size in (1, 2, 3):
        batched = similar_events(applied.engine, "default", vector, k=4, batch_rows=size)
        assert [h.event_id for h in batched] == [h.event_id for h in whole]
        assert [h.score for h in batched] == pytest.approx([h.score for h in whole], abs=1e-5)
    assert whole[0].event_id == "e7"


def test_rows_without_an_embedding_or_of_another_dimension_are_skipped(
    applied: KnowledgeBase,
) -> None:
    base: dict[str, Any] = {"tenant_id": "default", "user_id": "dave", "event_type": "purchase"}
    base |= {"item_id": "item-8", "category": "diabetes", "occurred_at": T0, "created_at": T0}
    with applied.engine.begin() as conn:
        conn.execute(sa.insert(behaviour_events), {**base, "event_id": "old"})  # no embedding
        odd = np.ones(3, dtype=np.float32).tobytes()
        conn.execute(
            sa.insert(behaviour_events),
            {**base, "event_id": "odd", "embedding": odd, "embedding_model": "x"},
        )
    found = ids(applied.similar_events("purchase · item-8 · diabetes", k=1000))
    assert found == {e[0] for e in EVENTS}


def test_bad_requests_are_refused(applied: KnowledgeBase) -> None:
    with pytest.raises(InputError, match="empty"):
        applied.similar_events("  ", k=3)
    with pytest.raises(InputError, match="k must be"):
        applied.similar_events("view", k=0)
    with pytest.raises(InputError, match="must be before"):
        applied.similar_events("view", k=3, since=T0, until=T0)


def test_rows_written_before_migration_0007_keep_null_and_are_skipped(database_url: str) -> None:
    engine = relational.make_engine(database_url)
    try:
        alembic(engine, "upgrade", "0006")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO behaviour_events (event_id, tenant_id, user_id, event_type, "
                    "occurred_at, created_at) VALUES ('pre', 'default', 'u', 'view', :t, :t)"
                ),
                {"t": T0},
            )
        relational.upgrade(engine)
        relational.upgrade(engine)  # a second run changes nothing
        with engine.connect() as conn:
            row = conn.execute(sa.select(behaviour_events)).one()
        assert (row.event_id, row.embedding, row.embedding_model) == ("pre", None, None)
        assert similar_events(engine, "default", np.ones(4, dtype=np.float32), k=5) == []
        alembic(engine, "downgrade", "0006")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("behaviour_events")}
        assert "embedding" not in columns and "embedding_model" not in columns
    finally:
        engine.dispose()
