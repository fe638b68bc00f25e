"""Circuit breakers in the API: a vector store that keeps failing opens its circuit, and then
requests fail fast (503 ``circuit_open`` naming it, with ``Retry-After``) without calling it,
writes stay committed in the outbox, /health/ready and /metrics show the circuit; an LLM
endpoint that keeps failing is no longer called and answers are extractive (ready: degraded).

The vector store fails as in ``test_routes``: the served store's methods are replaced by
ones raising ``VectorStoreError``, and put back to bring it back.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medkb.api import create_app
from medkb.config import AnswerSettings, LLMSettings, ResilienceSettings, Settings
from medkb.errors import VectorStoreError
from tests.api.test_errors import assert_error_shape
from tests.fixtures_servers import free_port

PAIR = {"question": "Is sugar bad for teeth?", "response": "Yes, it feeds tooth decay."}


def _circuit(metrics: str, dependency: str) -> float:
    line = next(
        line
        for line in metrics.splitlines()
        if line.startswith(f'medkb_circuit_state{{dependency="{dependency}"}}')
    )
    return float(line.rsplit(" ", 1)[1])


def _settings(tmp_path: Path, embed_cache: Path, **changes: Any) -> Settings:
    return Settings(home=tmp_path, embedder="static", cache_dir=embed_cache, **changes)


def test_an_open_vector_store_circuit_fails_requests_fast_and_shows_in_health_and_metrics(
    tmp_path: Path, embed_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resilience = ResilienceSettings(
        retry={"vector_store": "aggressive"},
        breaker={"vector_store": {"failures": 2, "reset_s": 1.0}},
    )
    app = create_app(_settings(tmp_path, embed_cache, resilience=resilience), auth=False)
    with TestClient(app) as client:
        assert client.post("/v1/pairs", json=PAIR).status_code == 201
        store = app.state.service.kb.store
        calls = {"n": 0}

        def down(*_args: object, **_kwargs: object) -> None:
            calls["n"] += 1
            raise VectorStoreError("vector store unreachable")

        for method in ("search", "upsert", "count"):
            monkeypatch.setattr(store, method, down)
        ask = {"query": "is sugar bad for teeth", "mode": "dense"}
        failed = [client.post("/v1/query", json=ask) for _ in range(2)]
        assert [r.status_code for r in failed] == [503, 503]
        assert failed[0].json()["error"]["type"] == "vector_store_error"
        assert calls["n"] == 2 * 6  # each query: every try of the aggressive policy

        refused = client.post("/v1/query", json=ask)
        assert_error_shape(refused, 503)
        assert refused.json()["error"]["type"] == "circuit_open"
        assert "vector store is unavailable" in refused.json()["error"]["message"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 1
        assert calls["n"] == 12  # refused without calling the store

        written = client.post("/v1/pairs", json={**PAIR, "question": "Does sugar cause decay?"})
        assert written.status_code == 201  # committed; the outbox applies it later
        assert written.json()["sync"]["state"] != "synced" and calls["n"] == 12

        ready = client.get("/health/ready")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "fail"
        assert body["checks"]["vector"]["circuit"] == "open" and calls["n"] == 12
        assert body["breakers"]["vector_store"]["state"] == "open"
        assert body["breakers"]["embedder"] == {"state": "closed"}
        assert body["reasons"][0].startswith("vector_store circuit open")
        metrics = client.get("/metrics").text
        assert _circuit(metrics, "vector_store") == 2 and _circuit(metrics, "embedder") == 0
        assert 'medkb_errors_total{kind="circuit_open"}' in metrics

        monkeypatch.undo()  # the vector store is back
        time.sleep(1.1)  # past reset_s: the circuit half-opens and lets a trial through
        assert client.post("/v1/query", json=ask).status_code == 200
        assert client.get("/health/ready").json()["breakers"]["vector_store"] == {"state": "closed"}
        assert _circuit(client.get("/metrics").text, "vector_store") == 0
        assert (
            client.post("/v1/pairs", json={**PAIR, "question": "Is honey better?"}).json()["sync"][
                "state"
            ]
            == "synced"
        )
        listed = client.get("/v1/pairs").json()["items"]
        assert len(listed) == 3  # nothing written while the circuit was open was lost
        assert client.get("/health/ready").status_code == 200


def test_an_open_llm_circuit_gives_extractive_answers_without_calling_and_ready_is_degraded(
    tmp_path: Path, embed_cache: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: connection refused
    settings = _settings(
        tmp_path,
        embed_cache,
        answer=AnswerSettings(llm=LLMSettings(url=dead, model="m", timeout_s=5)),
        resilience=ResilienceSettings(breaker={"llm": {"failures": 2, "reset_s": 600}}),
    )
    app = create_app(settings, auth=False)
    with TestClient(app) as client:
        assert client.post("/v1/pairs", json=PAIR).status_code == 201
        asks = ["is sugar bad for teeth", "does sugar harm teeth", "sugar and tooth decay"]
        answers = [client.post("/v1/query", json={"query": q}).json() for q in asks]
        assert not any(a["cached"] for a in answers)
        warnings = [a["warnings"] for a in answers]
        assert all(a["answer_mode"] == "extractive" for a in answers), answers
        assert all("LLM answer failed" in w[0] for w in warnings[:2])
        assert "LLM endpoint not called" in warnings[2][0] and "circuit is open" in warnings[2][0]
        assert app.state.service.breakers["llm"].opened_count == 1
        ready = client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["reasons"][0].startswith("llm circuit open")
        assert _circuit(client.get("/metrics").text, "llm") == 2
