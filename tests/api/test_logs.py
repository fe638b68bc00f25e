"""Structured logs of ``medkb serve``: read from a real server's log, one JSON object per
line with the request's id, tenant, route, status and duration; personal identifiers
and credentials never reach it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from medkb.api import logconfig
from tests.api.server import make_keys, server_env, start_server

EMAIL, PHONE = "jane.doe@example.com", "+44 20 7946 0958"
FIELDS = {"time", "level", "logger", "message", "request_id", "tenant", "route", "status",
          "duration_ms"}  # fmt: skip


@pytest.fixture(scope="module")
def log_lines(tmp_path_factory: pytest.TempPathFactory, embed_cache: Path) -> list[dict[str, Any]]:
    """What a server logged while serving a few requests, one dict per line."""
    home = tmp_path_factory.mktemp("logs")
    database_url = f"sqlite:///{home / 'kb.db'}"
    keys = make_keys(database_url, ["t-log"])
    env = server_env(home, database_url, embed_cache, MEDKB_LOG_FORMAT="json")
    server = start_server(env, home / "server.log")
    server.keys = keys
    try:
        with server.client("t-log") as client:
            made = client.post(
                "/v1/pairs",
                json={"question": "What causes gout?", "response": "Uric acid crystals."},
                headers={"X-Request-ID": "req-log-create"},
            )
            assert made.status_code == 201
            asked = client.post(
                "/v1/query",
                json={"query": f"I am {EMAIL}, call {PHONE}: what causes gout?"},
                headers={"X-Request-ID": "req-log-query"},
            )
            assert asked.status_code == 200
            assert client.get(f"/v1/pairs/{EMAIL}").status_code == 404
            generated = client.get("/v1/pairs").headers["X-Request-ID"]
        with server.client() as anonymous:
            assert anonymous.get("/v1/pairs", headers={"X-API-Key": "mk_wrong"}).status_code == 401
    finally:
        server.stop()
    text = server.log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert EMAIL not in text and "7946" not in text and "mk_wrong" not in text
    return [*lines, {"generated": generated}]  # the last item: the id the server made up


def _access(lines: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    found = [
        line
        for line in lines
        if line.get("logger") == "medkb.api.access" and line.get("request_id") == request_id
    ]
    assert len(found) == 1, lines
    return found[0]


def test_every_line_is_one_json_object_with_the_fields(log_lines: list[dict[str, Any]]) -> None:
    logged = log_lines[:-1]
    assert logged and all(set(line) >= FIELDS for line in logged)
    assert any(line["logger"].startswith("uvicorn") for line in logged)  # the server's own


def test_a_request_line_has_its_id_tenant_route_status_and_duration(
    log_lines: list[dict[str, Any]],
) -> None:
    line = _access(log_lines, "req-log-query")
    assert line["tenant"] == "t-log" and line["route"] == "/v1/query"
    assert line["status"] == 200 and line["level"] == "INFO"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["message"] == "POST /v1/query 200"
    missing = _access(log_lines, _id(log_lines, "/v1/pairs/{qa_id}"))
    assert missing["status"] == 404 and missing["tenant"] == "t-log"


def test_a_generated_request_id_is_the_one_the_client_got(log_lines: list[dict[str, Any]]) -> None:
    line = _access(log_lines, log_lines[-1]["generated"])
    assert line["route"] == "/v1/pairs" and line["status"] == 200


def test_an_unauthenticated_request_is_logged_without_a_tenant(
    log_lines: list[dict[str, Any]],
) -> None:
    refused = [line for line in log_lines[:-1] if line.get("status") == 401]
    assert len(refused) == 1 and refused[0]["tenant"] is None


def _id(lines: list[dict[str, Any]], route: str) -> str:
    return next(str(line["request_id"]) for line in lines[:-1] if line.get("route") == route)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_identifiers_and_credentials_are_redacted_in_messages_and_tracebacks(
    fmt: logconfig.LogFormat, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    kept = (list(root.handlers), root.level)
    try:
        logconfig.configure(fmt)
        logconfig.begin_request("req-unit")
        logconfig.set_tenant("t-unit")
        log = logging.getLogger("medkb.test")
        log.warning("mail %s at postgresql://medkb:s3cret@db/kb", EMAIL)
        try:
            raise RuntimeError(f"phone {PHONE}, Bearer mk_abc_secretsecret")
        except RuntimeError:
            log.exception("failed")
    finally:
        root.handlers[:] = kept[0]
        root.setLevel(kept[1])
    err = capsys.readouterr().err
    for secret in (EMAIL, "s3cret", "7946", "secretsecret"):
        assert secret not in err
    assert "req-unit" in err and "t-unit" in err and "Traceback" in err
    if fmt == "json":
        lines = [json.loads(line) for line in err.splitlines()]
        assert [line["level"] for line in lines] == ["WARNING", "ERROR"]
        assert lines[1]["exception"].startswith("Traceback")
        assert all(line["request_id"] == "req-unit" for line in lines)
