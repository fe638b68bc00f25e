"""Content-derived pair ids are per tenant: two tenants uploading the same documents both
succeed with ids of their own (neither learns the other has them), while the default
tenant's ids stay exactly as they were, so re-ingesting never duplicates its pairs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from medkb.app import KnowledgeBase
from medkb.ingest.ids import make_id
from tests.api.conftest import wait_job
from tests.api.server import Server, make_keys, server_env, start_server

LEAFLET = "# Leaflet\n\n## What is shingles?\n\nA painful rash from the chickenpox virus.\n"
ROWS = "".join(
    json.dumps({"question": q, "answer": a}) + "\n"
    for q, a in (("What is gout?", "A form of arthritis."), ("What is acne?", "A skin disease."))
)
FILES = [
    ("files", ("leaflet.md", LEAFLET.encode(), "text/markdown")),
    ("files", ("rows.jsonl", ROWS.encode(), "application/jsonl")),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embed_cache: Path) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("tenant-ids")
    database_url = f"sqlite:///{home / 'kb.db'}"
    keys = make_keys(database_url, ["clinic-a", "clinic-b"])
    started = start_server(server_env(home, database_url, embed_cache), home / "server.log")
    started.keys = keys
    yield started
    started.stop()


def _upload_and_list(server: Server, tenant: str) -> tuple[dict[str, object], set[str]]:
    with server.client(tenant) as client:
        accepted = client.post("/v1/documents", files=FILES)
        assert accepted.status_code == 202, accepted.text
        job = wait_job(client, accepted.json()["id"])
        ids = {pair["id"] for pair in client.get("/v1/pairs").json()["items"]}
    return job, ids


def test_two_tenants_uploading_the_same_documents_get_ids_of_their_own(server: Server) -> None:
    a_job, a_ids = _upload_and_list(server, "clinic-a")
    b_job, b_ids = _upload_and_list(server, "clinic-b")
    assert a_job["state"] == b_job["state"] == "done", (a_job, b_job)
    assert len(a_ids) == len(b_ids) == 3
    assert not a_ids & b_ids
    with server.client("clinic-b") as b:
        for qa_id in a_ids:
            assert b.get(f"/v1/pairs/{qa_id}").status_code == 404
    again_job, again_ids = _upload_and_list(server, "clinic-b")  # re-ingest: updated in place
    assert again_job["state"] == "done" and again_ids == b_ids


def test_the_default_tenants_ids_are_derived_as_before(kb: KnowledgeBase, tmp_path: Path) -> None:
    (tmp_path / "leaflet.md").write_text(LEAFLET)
    (tmp_path / "rows.jsonl").write_text(ROWS)
    kb.ingest([tmp_path / "leaflet.md", tmp_path / "rows.jsonl"])
    ids = {pair.id for pair in kb.list_pairs()[0]}

    def before(*parts: str) -> str:  # the formula of every release so far
        return "qa-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]

    assert ids == {
        before("leaflet.md", "What is shingles?"),
        before("What is gout?", "A form of arthritis."),
        before("What is acne?", "A skin disease."),
    }
    assert make_id("leaflet.md", "What is shingles?", namespace="clinic-a") not in ids
