"""``POST /v1/query/stream``: Server-Sent Events in order (urgent notice first, sources,
answer pieces, ``done`` with the ``POST /v1/query`` object), JSON errors before the stream,
and CORS for the web app's origin — against the real server of ``tests/api/conftest.py``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from medkb.api import create_app
from medkb.config import Settings
from tests.api.conftest import A_MARK, Seeded
from tests.api.test_errors import assert_error_shape

EMERGENCY = "My father has crushing chest pain spreading to his left arm and is sweating"


def read_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of an SSE body."""
    found = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def stream(client: httpx.Client, query: str) -> httpx.Response:
    response = client.post("/v1/query/stream", json={"query": query, "top_k": 3})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return response


def test_the_stream_sends_sources_then_pieces_then_the_query_object(api: Seeded) -> None:
    with api.server.client("tenant-a") as a:
        events = read_events(stream(a, f"What are the symptoms of {A_MARK} fever?"))
        plain = a.post(
            "/v1/query", json={"query": f"What are the symptoms of {A_MARK} fever?", "top_k": 3}
        ).json()
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and "notice" not in names
    assert set(names[1:-1]) == {"answer"} and len(names) >= 3
    done = events[-1][1]
    same = ("query", "answer", "citations", "safety", "abstained", "answer_mode")
    assert {k: done[k] for k in same} == {k: plain[k] for k in same}
    assert [h["id"] for h in done["hits"]] == [h["id"] for h in plain["hits"]]
    assert done["query_log_id"] and done["query_log_id"] != plain["query_log_id"]
    assert "".join(data["text"] for name, data in events if name == "answer") == done["answer"]
    sources = events[0][1]["sources"]
    assert [s["number"] for s in sources] == [c["number"] for c in done["citations"]]
    assert sources and all(s["id"] in {h["id"] for h in done["hits"]} for s in sources)
    assert A_MARK in sources[0]["question"]


def test_an_emergency_sends_the_urgent_notice_first(api: Seeded) -> None:
    with api.server.client("tenant-a") as a:
        events = read_events(stream(a, EMERGENCY))
    name, notice = events[0]
    done = events[-1][1]
    assert name == "notice" and notice["notice"].startswith("URGENT")
    assert done["safety"]["flag"] is True and notice["category"] == done["safety"]["category"]
    pieces = "".join(data["text"] for name, data in events if name == "answer")
    assert done["answer"].startswith(notice["notice"]) and notice["notice"] not in pieces
    assert done["answer"].endswith(pieces)


def test_errors_before_the_stream_are_json_in_the_one_shape(api: Seeded) -> None:
    with api.server.client() as anonymous, api.server.client("tenant-a") as a:
        assert_error_shape(anonymous.post("/v1/query/stream", json={"query": "fever"}), 401)
        assert_error_shape(a.post("/v1/query/stream", json={"query": ""}), 422)
        assert_error_shape(a.post("/v1/query/stream", json={"query": "x", "depth": 9}), 422)
        bad_filter = {"query": "fever", "filters": {"colour": ["red"]}}
        assert_error_shape(a.post("/v1/query/stream", json=bad_filter), 400)


def test_an_idempotency_key_replays_the_first_streamed_answer(api: Seeded) -> None:
    body = {"query": f"How is {A_MARK} fever treated?"}
    with api.server.client("tenant-a", **{"Idempotency-Key": "stream-once-1"}) as a:
        first = read_events(a.post("/v1/query/stream", json=body))
        again = a.post("/v1/query/stream", json=body)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert read_events(again)[-1][1]["query_log_id"] == first[-1][1]["query_log_id"]


def test_cors_allows_the_web_apps_origin_only(api: Seeded) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    with api.server.client() as client:
        ours = client.options(
            "/v1/query/stream", headers={**preflight, "Origin": "http://127.0.0.1:8501"}
        )
        theirs = client.options(
            "/v1/query/stream", headers={**preflight, "Origin": "http://evil.example"}
        )
        error = client.get("/v1/pairs", headers={"Origin": "http://127.0.0.1:8501"})
    assert ours.status_code == 200
    assert ours.headers["access-control-allow-origin"] == "http://127.0.0.1:8501"
    assert "authorization" in ours.headers["access-control-allow-headers"].lower()
    assert theirs.status_code == 400 and "access-control-allow-origin" not in theirs.headers
    # The browser must be able to read an error's body and request id too.
    assert error.status_code == 401
    assert error.headers["access-control-allow-origin"] == "http://127.0.0.1:8501"
    assert "x-request-id" in error.headers["access-control-expose-headers"].lower()


def test_cors_origins_are_configurable_and_empty_allows_none(
    tmp_path: Path, embed_cache: Path
) -> None:
    asked = {"Origin": "https://kb.example.org", "Access-Control-Request-Method": "GET"}
    for origins, allowed in (("https://kb.example.org, http://x.test", True), ("", False)):
        settings = Settings(
            home=tmp_path / str(allowed),
            embedder="static",
            cache_dir=embed_cache,
            api={"cors_origins": origins},
        )
        with TestClient(create_app(settings, auth=False)) as client:
            answer = client.options("/v1/pairs", headers=asked)
        assert ("access-control-allow-origin" in answer.headers) is allowed, origins
