"""The /v1 routes over real HTTP: pairs, paging, graph, query, feedback, analytics,
documents, audit, event search, idempotency, rate limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medkb.api import create_app
from medkb.config import ApiSettings, Settings
from medkb.errors import VectorStoreError
from tests.api.conftest import A_MARK, Seeded, wait_job
from tests.api.test_errors import assert_error_shape


def test_a_pair_is_created_read_listed_updated_and_deleted(api: Seeded) -> None:
    body = {
        "question": "What is the normal resting heart rate?",
        "response": "Between 60 and 100 beats per minute for adults.",
        "metadata": {"category": "Cardiology", "tags": ["heart"]},
        "sources": [{"document": "heart.pdf", "page": 2}],
    }
    with api.server.client("tenant-b") as client:
        made = client.post("/v1/pairs", json=body)
        assert made.status_code == 201
        qa_id = made.json()["id"]
        got = client.get(f"/v1/pairs/{qa_id}").json()
        assert got["question"] == body["question"]
        assert got["sources"][0]["page"] == 2
        assert got["sync"]["state"] == "synced"
        listed = client.get("/v1/pairs", params={"category": "Cardiology"}).json()["items"]
        assert [p["id"] for p in listed] == [qa_id]
        changed = client.patch(f"/v1/pairs/{qa_id}", json={"metadata": {"category": "Heart"}})
        assert changed.json()["metadata"]["category"] == "Heart"
        assert client.delete(f"/v1/pairs/{qa_id}").json() == {"id": qa_id, "status": "deleted"}
        assert client.get(f"/v1/pairs/{qa_id}").status_code == 404
        audit = client.get("/v1/audit", params={"limit": 10}).json()["items"]
    actions = [(e["action"], e["target"]) for e in audit if e["target"] == qa_id]
    assert actions == [("pair.delete", qa_id), ("pair.update", qa_id), ("pair.create", qa_id)]
    assert all(e["request_id"] and e["ip"] == "127.0.0.1" for e in audit)


def test_cursor_paging_visits_every_pair_once(api: Seeded) -> None:
    with api.server.client("tenant-a") as client:
        every = [p["id"] for p in client.get("/v1/pairs", params={"limit": 200}).json()["items"]]
        seen, cursor = [], None
        while True:
            params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/pairs", params=params).json()
            seen += [p["id"] for p in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen == every and len(every) >= 3


def test_query_answers_like_the_cli_and_feedback_and_analytics_follow(api: Seeded) -> None:
    with api.server.client("tenant-a") as client:
        answer = client.post("/v1/query", json={"query": "how is zanzibarvirus fever treated"})
        body = answer.json()
        assert set(body) >= {"query", "answer", "citations", "hits", "graph", "timings_ms"}
        assert body["hits"][0]["id"] == api.a_pairs[1]
        rated = client.post(
            "/v1/feedback", json={"query_log_id": body["query_log_id"], "rating": 4}
        )
        assert rated.status_code == 201
        stats = client.get("/v1/analytics", params={"days": 7}).json()
        graph = client.get(f"/v1/pairs/{api.a_pairs[0]}/graph").json()
    assert stats["latency_ms"]["count"] >= 2
    assert stats["latency_ms"]["p50"] <= stats["latency_ms"]["p95"]
    assert stats["feedback"]["count"] >= 2
    today = stats["per_day"][-1]  # queries and feedback per day come from the query logs
    assert today["queries"] >= 2 and today["feedback"] >= 2 and today["avg_response_time_ms"] > 0
    assert sum(day["queries"] for day in stats["per_day"]) == stats["latency_ms"]["count"]
    assert api.a_pairs[1] in {p["id"] for p in stats["popular_pairs"]}
    assert graph["id"] == api.a_pairs[0]
    assert api.a_pairs[0] in {n["id"] for n in graph["nodes"]}


def test_an_uploaded_document_becomes_pairs_with_a_per_file_report(api: Seeded) -> None:
    doc = b"# Sleep\n\n## How much sleep do adults need?\n\nSeven to nine hours a night.\n"
    with api.server.client("tenant-b") as client:
        job = client.post("/v1/documents", files=[("files", ("sleep.md", doc, "text/markdown"))])
        assert job.status_code == 202
        done = wait_job(client, job.json()["id"])
        documents = client.get("/v1/documents").json()["items"]
        jobs = client.get("/v1/documents/jobs").json()["items"]
        deleted = client.delete("/v1/documents", params={"document": "sleep.md"}).json()
        after = client.get("/v1/documents").json()["items"]
    assert done["state"] == "done" and done["done"] == done["total"] == 1
    assert done["report"]["created"] == 1 and done["report"]["errors"] == []
    assert {"document": "sleep.md", "pairs": 1} in [
        {"document": d["document"], "pairs": d["pairs"]} for d in documents
    ]
    assert job.json()["id"] in {j["id"] for j in jobs}
    assert deleted["document"] == "sleep.md" and len(deleted["deleted_pairs"]) == 1
    assert "sleep.md" not in {d["document"] for d in after}


def test_a_repeated_post_with_an_idempotency_key_returns_the_first_result(api: Seeded) -> None:
    body = {"question": "Is coffee bad for the heart?", "response": "Not in moderation."}
    with api.server.client("tenant-b") as client:
        first = client.post("/v1/pairs", json=body, headers={"Idempotency-Key": "idem-create-1"})
        again = client.post("/v1/pairs", json=body, headers={"Idempotency-Key": "idem-create-1"})
        other = client.post(
            "/v1/pairs",
            json={**body, "response": "Yes."},
            headers={"Idempotency-Key": "idem-create-1"},
        )
        listed = client.get("/v1/pairs", params={"limit": 200}).json()["items"]
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_error_shape(other, 422)
    assert [p["question"] for p in listed].count(body["question"]) == 1


def test_requests_over_the_rate_limit_get_429_with_retry_after(
    tmp_path: Path, embed_cache: Path
) -> None:
    settings = Settings(
        home=tmp_path,
        embedder="static",
        cache_dir=embed_cache,
        api=ApiSettings(rate_per_s=0.5, rate_burst=3),
    )
    with TestClient(create_app(settings, auth=False)) as client:
        codes = [client.get("/v1/pairs").status_code for _ in range(4)]
        limited = client.get("/v1/pairs")
        assert codes == [200, 200, 200, 429]
        assert_error_shape(limited, 429)
        assert int(limited.headers["Retry-After"]) >= 1
        assert client.get("/health/live").status_code == 200  # probes are not limited


def test_metrics_count_requests_per_route_template_and_queries(api: Seeded) -> None:
    with api.server.client("tenant-a") as client:
        client.get(f"/v1/pairs/{api.a_pairs[0]}")
        client.post("/v1/query", json={"query": "fever"})
        text = client.get("/metrics").text
    assert 'route="/v1/pairs/{qa_id}"' in text
    assert "medkb_queries_total" in text and "medkb_query_stage_seconds_bucket" in text
    assert "medkb_outbox_depth" in text and "medkb_http_request_seconds_bucket" in text
    assert api.a_pairs[0] not in text


def test_export_downloads_the_tenants_pairs_as_jsonl(api: Seeded) -> None:
    with api.server.client("tenant-a") as client:
        listed = {p["id"] for p in client.get("/v1/pairs", params={"limit": 200}).json()["items"]}
        response = client.get("/v1/export", params={"format": "jsonl"})
        csv = client.get("/v1/export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert "medkb-tenant-a.jsonl" in response.headers["content-disposition"]
    exported = {json.loads(line)["id"] for line in response.text.splitlines() if line}
    assert exported == listed
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") > len(listed)


def test_a_write_committed_while_the_vector_store_is_down_is_not_repeated_by_a_retry(
    tmp_path: Path, embed_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=tmp_path, embedder="static", cache_dir=embed_cache)
    app = create_app(settings, auth=False)
    body = {"question": "Is sugar bad for teeth?", "response": "Yes, it feeds decay."}
    with TestClient(app) as client:

        def down(*_args: object, **_kwargs: object) -> None:
            raise VectorStoreError("vector store unreachable")

        monkeypatch.setattr(app.state.service.kb.store, "upsert", down)
        first = client.post("/v1/pairs", json=body, headers={"Idempotency-Key": "k-down"})
        again = client.post("/v1/pairs", json=body, headers={"Idempotency-Key": "k-down"})
        listed = client.get("/v1/pairs").json()["items"]
    assert first.status_code == again.status_code == 201
    assert first.json()["sync"]["state"] != "synced"
    assert again.json()["id"] == first.json()["id"]
    assert len(listed) == 1


def test_a_repeated_query_is_answered_from_the_tenants_cache_until_a_cited_pair_changes(
    api: Seeded,
) -> None:
    body = {"query": "How is zanzibarvirus fever treated at home?", "top_k": 3}
    with api.server.client("tenant-a") as a, api.server.client("tenant-b") as b:
        first = a.post("/v1/query", json=body).json()
        again = a.post("/v1/query", json=body).json()
        other = b.post("/v1/query", json=body).json()
        cited = first["hits"][0]["id"]
        patched = a.patch(f"/v1/pairs/{cited}", json={"metadata": {"category": "Tropical"}})
        after = a.post("/v1/query", json=body).json()
    assert (first["cached"], again["cached"]) == (False, True)
    assert again["hits"] == first["hits"]
    assert other["cached"] is False and not {h["id"] for h in other["hits"]} & set(api.a_pairs)
    assert patched.status_code == 200
    assert after["cached"] is False
    assert after["hits"][0]["metadata"]["category"] == "Tropical"


def test_interactions_are_searched_by_similarity_within_filters(api: Seeded) -> None:
    """``GET /v1/events/search`` is ``medkb events search --json`` over HTTP (issue 12)."""
    with api.server.client("tenant-a") as client:
        found = client.get("/v1/events/search", params={"text": "purchase cardiology"})
        assert found.status_code == 200, found.text
        events = found.json()["events"]
        assert {e["event_id"] for e in events[:2]} == set(api.a_events[0:3:2])  # the purchases
        assert set(api.a_events) == {e["event_id"] for e in events}
        assert events == sorted(events, key=lambda e: -e["score"])
        bob = client.get(
            "/v1/events/search", params={"text": "view", "user": f"{A_MARK}-bob", "top_k": 1}
        ).json()["events"]
        assert [(e["user_id"], e["event_type"]) for e in bob] == [(f"{A_MARK}-bob", "view")]
        window = {"since": "2026-12-05T07:00:00", "until": "2026-12-05T08:00:00+00:00"}
        late = client.get("/v1/events/search", params={"text": "view", **window}).json()
        assert [e["event_id"] for e in late["events"]] == [api.a_events[1]]
        backwards = {"since": window["until"], "until": window["since"]}
        assert_error_shape(
            client.get("/v1/events/search", params={"text": "view", **backwards}), 400
        )
        assert_error_shape(client.get("/v1/events/search", params={"text": "x", "top_k": 0}), 422)
        assert_error_shape(client.get("/v1/events/search", params={"text": ""}), 422)
        bad = client.get("/v1/events/search", params={"text": "x", "since": "yesterday"})
        assert_error_shape(bad, 422)
