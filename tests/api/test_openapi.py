"""The OpenAPI schema is complete: every operation summarised and described, every JSON
request body with an example, every error response in the one shape; jobs survive a
restart; markup and SQL in fields are stored as text."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from medkb.api import create_app
from medkb.app import build
from medkb.config import Settings
from medkb.stores.relational import jobs
from tests.api.conftest import Seeded


def test_every_operation_is_documented_with_examples_and_the_error_shape(api: Seeded) -> None:
    with api.server.client() as client:
        schema = client.get("/openapi.json").json()
    assert "ErrorResponse" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary") and op.get("description"), where
            assert {"4XX", "5XX"} <= set(op["responses"]), where
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                ref = body["schema"]["$ref"].rsplit("/", 1)[-1]
                assert schema["components"]["schemas"][ref].get("examples"), where


def test_markup_and_sql_in_fields_are_stored_and_returned_as_plain_text(api: Seeded) -> None:
    nasty = "<script>alert(1)</script>'; DROP TABLE medical_qa_metadata; --"
    with api.server.client("tenant-b") as client:
        made = client.post("/v1/pairs", json={"question": nasty + "?", "response": nasty})
        got = client.get(f"/v1/pairs/{made.json()['id']}").json()
        assert client.get("/v1/pairs").status_code == 200  # the table is still there
    assert got["question"] == nasty + "?" and got["response"] == nasty


def test_a_job_left_unfinished_by_a_stopped_server_is_run_by_the_next_one(
    tmp_path: Path, embed_cache: Path
) -> None:
    settings = Settings(home=tmp_path, embedder="static", cache_dir=embed_cache)
    with build(settings) as kb, kb.engine.begin() as conn:  # the server that died
        jobs.insert_job(
            conn, "job_left", tenant_id="default", files=["a.md"], now=datetime.now(UTC)
        )
        jobs.update_job(conn, "job_left", now=datetime.now(UTC), state="running")
    folder = tmp_path / "uploads" / "job_left"
    folder.mkdir(parents=True)
    (folder / "a.md").write_text("# A\n\n## What is a cold?\n\nA viral infection of the nose.\n")
    with TestClient(create_app(settings, auth=False)) as client:
        for _ in range(100):
            job = client.get("/v1/documents/jobs/job_left").json()
            if job["state"] == "done":
                break
            time.sleep(0.1)
        documents = client.get("/v1/documents").json()["items"]
    assert job["state"] == "done" and job["report"]["created"] == 1
    assert [d["document"] for d in documents] == ["a.md"]
    assert not folder.exists()
