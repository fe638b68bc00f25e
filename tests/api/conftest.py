"""One real ``medkb serve`` per relational backend for the whole session, holding two
tenants' data in the same database and the same vector collection."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from medkb.app import build
from medkb.config import Settings
from medkb.stream.apply import Applier
from tests.api.server import Server, make_keys, server_env, start_server
from tests.integration.test_behaviour_search import event as behaviour_event
from tests.services import fresh_postgres_database

#: A word only tenant A's data contains: it must never appear in tenant B's responses.
A_MARK = "zanzibarvirus"
A_DOC = "alpha-only-guide.md"
#: Tenant A's stored interactions: (user, type, item, category, hours after 06:00 UTC on
#: 2026-12-05, as in ``tests/integration/test_behaviour_search.py``).
A_EVENTS = [
    (f"{A_MARK}-ann", "purchase", "item-42", "cardiology", 0),
    (f"{A_MARK}-ann", "view", "item-7", "diabetes", 1),
    (f"{A_MARK}-bob", "purchase", "item-42", "cardiology", 2),
    (f"{A_MARK}-bob", "view", "item-9", "dermatology", 3),
]


@dataclass
class Seeded:
    """The running server and what tenant A stored in it."""

    server: Server
    a_pairs: list[str] = field(default_factory=list)
    a_job: str = ""
    a_query_log: int = 0
    b_pairs: list[str] = field(default_factory=list)
    a_events: list[str] = field(default_factory=list)

    def a_secrets(self) -> list[str]:
        """Strings of A's data that B must never see."""
        return [*self.a_pairs, self.a_job, A_MARK, A_DOC, *self.a_events]


def _pg() -> Iterator[str]:
    yield from fresh_postgres_database()


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, embed_cache: Path
) -> Iterator[Seeded]:
    """A served knowledge base with tenants ``tenant-a`` and ``tenant-b`` (all-scope keys)."""
    home = tmp_path_factory.mktemp(f"api-{request.param}")
    databases = _pg() if request.param == "postgres" else iter([f"sqlite:///{home / 'kb.db'}"])
    database_url = next(databases)
    keys = make_keys(database_url, ["tenant-a", "tenant-b"])
    events = _apply_events(home, database_url, embed_cache)
    server = start_server(server_env(home, database_url, embed_cache), home / "server.log")
    server.keys = keys
    try:
        seeded = _seed(server)
        seeded.a_events = events
        yield seeded
    finally:
        server.stop()
        for _rest in databases:  # drops the PostgreSQL database
            pass


def _apply_events(home: Path, database_url: str, embed_cache: Path) -> list[str]:
    """Store tenant A's interactions as the stream worker does; return their event ids."""
    settings = Settings(
        home=home, database_url=database_url, embedder="static", cache_dir=embed_cache
    )
    events = [
        behaviour_event(f"evt-{A_MARK}-{n}", *fields, tenant="tenant-a")
        for n, fields in enumerate(A_EVENTS)
    ]
    with build(settings) as kb:
        report = Applier(kb).apply(events)
    assert sorted(report.applied) == sorted(e.id for e in events)
    return [e.id for e in events]


def _seed(server: Server) -> Seeded:
    seeded = Seeded(server)
    with server.client("tenant-a") as a, server.client("tenant-b") as b:
        for question, response in (
            (f"What are the symptoms of {A_MARK} fever?", f"{A_MARK} fever causes a high fever."),
            (f"How is {A_MARK} fever treated?", f"Rest and fluids treat {A_MARK} fever."),
        ):
            made = a.post("/v1/pairs", json={"question": question, "response": response})
            assert made.status_code == 201, made.text
            seeded.a_pairs.append(made.json()["id"])
        asked = a.post("/v1/query", json={"query": f"{A_MARK} fever symptoms"})
        seeded.a_query_log = asked.json()["query_log_id"]
        a.post("/v1/feedback", json={"query_log_id": seeded.a_query_log, "rating": 5})
        doc = f"# Guide\n\n## What is {A_MARK} rash?\n\n{A_MARK} rash is red and itchy.\n"
        job = a.post("/v1/documents", files=[("files", (A_DOC, doc.encode(), "text/markdown"))])
        seeded.a_job = job.json()["id"]
        _wait_job(a, seeded.a_job)
        made = b.post(
            "/v1/pairs",
            json={"question": "What are the symptoms of fever?", "response": "A high temperature."},
        )
        seeded.b_pairs.append(made.json()["id"])
    return seeded


def _wait_job(client: httpx.Client, job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/v1/documents/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


wait_job = _wait_job
