"""One JSON error shape for every error of every route (datasette's test_error_shape)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from medkb.access import keys
from medkb.api import create_app
from medkb.config import Settings
from tests.api.conftest import Seeded
from tests.api.test_isolation import operations

METHODS = ("get", "post", "put", "patch", "delete")


def assert_error_shape(response: httpx.Response, status: int) -> None:
    """``{"error": {"type", "message", "request_id"}}`` with the response's request id."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "message", "request_id"}
    assert body["error"]["type"] and body["error"]["message"]
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]


def _url(path: str) -> str:
    return re.sub(r"\{\w+\}", "unknown-id", path)


def test_every_route_errors_in_the_one_shape(api: Seeded) -> None:
    with api.server.client() as anonymous, api.server.client("tenant-a") as client:
        for method, path in operations(anonymous):
            url = _url(path)
            if path.startswith("/v1/"):
                assert_error_shape(anonymous.request(method.upper(), url), 401)
                bad = client.request(method.upper(), url, headers={"X-API-Key": "mk_bad"})
                assert bad.status_code != 401  # Bearer wins over X-API-Key
            for other in set(METHODS) - {m for m, p in operations(anonymous) if p == path}:
                assert_error_shape(client.request(other.upper(), url), 405)
        assert_error_shape(client.get("/no/such/route"), 404)
        assert_error_shape(client.get("/v1/pairs/unknown-id"), 404)
        assert_error_shape(client.get("/v1/pairs", params={"limit": 0}), 422)
        assert_error_shape(client.post("/v1/pairs", json={"bogus": 1}), 422)
        assert_error_shape(client.post("/v1/query", content=b"{not json"), 422)
        assert_error_shape(client.get("/v1/pairs", params={"cursor": "%%%"}), 400)


def test_an_unexpected_failure_is_a_500_in_the_one_shape(tmp_path: Path, embed_cache: Path) -> None:
    settings = Settings(home=tmp_path, embedder="static", cache_dir=embed_cache)
    app = create_app(settings, auth=False)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("an unexpected bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "trace-123"})
    assert_error_shape(response, 500)
    assert response.json()["error"]["request_id"] == "trace-123"
    assert "unexpected bug" not in response.text  # internals stay in the log


def test_oversized_bodies_are_refused_before_anything_is_stored(api: Seeded) -> None:
    huge = {"question": "q?", "response": "x" * (2 << 20)}
    with api.server.client("tenant-a") as client:
        before = len(client.get("/v1/pairs", params={"limit": 200}).json()["items"])
        assert_error_shape(client.post("/v1/pairs", json=huge), 413)
        after = len(client.get("/v1/pairs", params={"limit": 200}).json()["items"])
    assert before == after


def test_unknown_upload_types_are_415_and_store_nothing(api: Seeded) -> None:
    with api.server.client("tenant-a") as client:
        jobs = len(client.get("/v1/documents/jobs").json()["items"])
        response = client.post("/v1/documents", files=[("files", ("x.exe", b"MZ\x00"))])
        assert_error_shape(response, 415)
        assert len(client.get("/v1/documents/jobs").json()["items"]) == jobs


def test_scopes_are_enforced(tmp_path: Path, embed_cache: Path) -> None:
    settings = Settings(home=tmp_path, embedder="static", cache_dir=embed_cache)
    app = create_app(settings)
    with TestClient(app) as client:
        engine = app.state.service.kb.engine
        keys.create_tenant(engine, "t")
        reader = keys.create_key(engine, tenant_id="t", scopes=["query"]).secret
        writer = keys.create_key(engine, tenant_id="t", scopes=["write"])
        as_reader = {"Authorization": f"Bearer {reader}"}
        assert client.get("/v1/pairs", headers=as_reader).status_code == 200
        denied = client.post(
            "/v1/pairs", json={"question": "q?", "response": "r"}, headers=as_reader
        )
        assert_error_shape(denied, 403)
        assert_error_shape(client.get("/v1/audit", headers=as_reader), 403)
        as_writer = {"X-API-Key": writer.secret}
        created = client.post(
            "/v1/pairs", json={"question": "q?", "response": "r"}, headers=as_writer
        )
        assert created.status_code == 201
        keys.revoke_key(engine, writer.key_id)
        assert_error_shape(client.get("/v1/pairs", headers=as_writer), 401)
        tampered = {"X-API-Key": writer.secret[:-2] + "zz"}
        assert_error_shape(client.get("/v1/pairs", headers=tampered), 401)
