"""Tenant isolation: every route, run as tenant B against tenant A's ids, answers 404 or
B's own data, never A's — with both tenants in one database and one vector collection."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.conftest import A_DOC, A_MARK, Seeded

#: How B calls each operation against A's data: (path params → A's ids, request kwargs,
#: expected status). Every operation in the OpenAPI schema must be listed here.
Call = Callable[[Seeded], dict[str, Any]]
OPERATIONS: dict[tuple[str, str], tuple[Call, int]] = {
    ("get", "/v1/pairs"): (lambda s: {}, 200),
    ("post", "/v1/pairs"): (
        lambda s: {"json": {"question": "About the B guide?", "response": "B own answer."}},
        201,
    ),
    ("get", "/v1/pairs/{qa_id}"): (lambda s: {}, 404),
    ("patch", "/v1/pairs/{qa_id}"): (lambda s: {"json": {"metadata": {"category": "B"}}}, 404),
    ("delete", "/v1/pairs/{qa_id}"): (lambda s: {}, 404),
    ("get", "/v1/pairs/{qa_id}/graph"): (lambda s: {}, 404),
    ("post", "/v1/query"): (lambda s: {"json": {"query": f"{A_MARK} fever symptoms"}}, 200),
    ("post", "/v1/query/stream"): (
        lambda s: {"json": {"query": f"{A_MARK} fever symptoms"}},
        200,
    ),
    ("post", "/v1/feedback"): (
        lambda s: {"json": {"query_log_id": s.a_query_log, "rating": 1}},
        404,
    ),
    ("post", "/v1/documents"): (
        lambda s: {"files": [("files", ("b-guide.md", b"# B\n\n## What is B?\n\nB is b.\n"))]},
        202,
    ),
    ("get", "/v1/documents"): (lambda s: {}, 200),
    ("delete", "/v1/documents"): (lambda s: {"params": {"document": A_DOC}}, 404),
    ("get", "/v1/documents/jobs"): (lambda s: {}, 200),
    ("get", "/v1/documents/jobs/{job_id}"): (lambda s: {}, 404),
    ("get", "/v1/analytics"): (lambda s: {}, 200),
    ("get", "/v1/sync/status"): (lambda s: {}, 200),
    ("post", "/v1/sync/verify"): (lambda s: {}, 200),
    ("get", "/v1/audit"): (lambda s: {}, 200),
    ("get", "/v1/events/search"): (lambda s: {"params": {"text": "purchase cardiology"}}, 200),
    ("get", "/v1/export"): (lambda s: {}, 200),
    ("get", "/health"): (lambda s: {}, 200),
    ("get", "/health/live"): (lambda s: {}, 200),
    ("get", "/health/ready"): (lambda s: {}, 200),
    ("get", "/health/database"): (lambda s: {}, 200),
    ("get", "/health/vector"): (lambda s: {}, 200),
    ("get", "/health/objects"): (lambda s: {}, 200),
    ("get", "/health/system"): (lambda s: {}, 200),
    ("get", "/health/redis"): (lambda s: {}, 200),
    ("get", "/metrics"): (lambda s: {}, 200),
}


def operations(client: httpx.Client) -> list[tuple[str, str]]:
    """Every (method, path) the served OpenAPI schema lists."""
    schema = client.get("/openapi.json").json()
    return [(m, p) for p, ops in schema["paths"].items() for m in ops]


def test_every_route_is_covered_by_the_isolation_table(api: Seeded) -> None:
    with api.server.client() as client:
        assert sorted(operations(client)) == sorted(OPERATIONS)


def test_tenant_b_never_sees_or_changes_tenant_a_data_on_any_route(api: Seeded) -> None:
    ids = {"qa_id": api.a_pairs[0], "job_id": api.a_job}
    with api.server.client("tenant-b") as b, api.server.client("tenant-a") as a:
        for (method, path), (call, status) in OPERATIONS.items():
            url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
            response = b.request(method.upper(), url, **call(api))
            assert response.status_code == status, (method, path, response.text)
            sent = url + str(call(api))  # echoing what B sent back to B reveals nothing
            leaked = [s for s in api.a_secrets() if s in response.text and s not in sent]
            assert leaked == [], (method, path, leaked)
        for qa_id in api.a_pairs:  # B's PATCH and DELETE left A's pairs as they were
            pair = a.get(f"/v1/pairs/{qa_id}").json()
            assert pair["metadata"]["category"] != "B"
        assert A_DOC in a.get("/v1/documents").text


def test_an_idempotency_key_of_tenant_a_replays_nothing_for_tenant_b(api: Seeded) -> None:
    body = {"query": f"{A_MARK} fever symptoms", "top_k": 3}
    with api.server.client("tenant-a") as a, api.server.client("tenant-b") as b:
        first = a.post("/v1/query", json=body, headers={"Idempotency-Key": "shared-key-1"})
        second = b.post("/v1/query", json=body, headers={"Idempotency-Key": "shared-key-1"})
    assert A_MARK in first.text
    assert second.status_code == 200
    assert "Idempotent-Replayed" not in second.headers
    assert A_MARK not in second.text.replace(body["query"], "")


@pytest.mark.parametrize("tenant", ["tenant-a", "tenant-b"])
def test_each_tenant_lists_exactly_its_own_pairs(api: Seeded, tenant: str) -> None:
    with api.server.client(tenant) as client:
        listed = {p["id"] for p in client.get("/v1/pairs", params={"limit": 200}).json()["items"]}
    mine = set(api.a_pairs) if tenant == "tenant-a" else set(api.b_pairs)
    others = set(api.b_pairs) if tenant == "tenant-a" else set(api.a_pairs)
    assert mine <= listed
    assert not listed & others
