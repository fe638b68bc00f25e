"""OpenTelemetry traces: API → search → stores spans, checked with the SDK's in-memory
exporter; OTLP export to a real HTTP collector when configured; no question text or
personal identifier in any span."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from medkb.api import create_app
from medkb.api.tracing import traces_url
from medkb.config import OtelSettings, Settings
from tests.api.server import make_keys, server_env, start_server

pytest.importorskip("opentelemetry.sdk")
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

SECRET_WORD = "quokkalitis"
QUESTION = f"I am jane.doe@example.com, what are the symptoms of {SECRET_WORD}?"
STAGES = {"query.embed", "query.dense_search", "query.keyword_search", "query.fuse",
          "query.graph", "query.answer"}  # fmt: skip


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """An in-memory exporter on this process's tracer provider (installed once)."""
    found = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(found))
    return found


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, embed_cache: Path) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("tracing")
    settings = Settings(home=home, embedder="static", cache_dir=embed_cache)
    with TestClient(create_app(settings, auth=False)) as opened:
        for question, response in (
            (f"What are the symptoms of {SECRET_WORD}?", f"{SECRET_WORD} brings a rash."),
            (f"How is {SECRET_WORD} treated?", "Rest and fluids."),
        ):
            made = opened.post("/v1/pairs", json={"question": question, "response": response})
            assert made.status_code == 201
        yield opened


def _trace_of(exporter: InMemorySpanExporter, client: TestClient) -> list[ReadableSpan]:
    exporter.clear()
    asked = client.post("/v1/query", json={"query": QUESTION})
    assert asked.status_code == 200
    return list(exporter.get_finished_spans())


def _by_name(spans: list[ReadableSpan]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans}


def _ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[str]:
    ids = {s.context.span_id: s for s in spans}
    names, parent = [], span.parent
    while parent is not None and parent.span_id in ids:
        found = ids[parent.span_id]
        names.append(found.name)
        parent = found.parent
    return names


def test_a_query_traces_request_search_stages_and_store_calls(
    exporter: InMemorySpanExporter, client: TestClient
) -> None:
    spans = _trace_of(exporter, client)
    named = _by_name(spans)
    root = named["POST /v1/query"]
    assert root.parent is None
    assert root.attributes is not None and root.attributes["http.response.status_code"] == 200
    assert len({s.context.trace_id for s in spans}) == 1  # one trace, threads included
    assert _ancestors(named["query"], spans)[-1] == "POST /v1/query"
    for stage in STAGES:
        assert "query" in _ancestors(named[stage], spans), stage
    assert _ancestors(named["vector.search"], spans)[0] == "query.dense_search"
    assert "query" in _ancestors(named["relational.keyword_search"], spans)
    assert "query.enrich" in _ancestors(named["relational.get_pairs"], spans)
    assert "query" in _ancestors(named["relational.log_query"], spans)
    assert named["answer_cache.get"].attributes == {"medkb.hit": False}


def test_a_cached_answer_is_traced_without_a_search(
    exporter: InMemorySpanExporter, client: TestClient
) -> None:
    _trace_of(exporter, client)
    named = _by_name(_trace_of(exporter, client))
    assert named["answer_cache.get"].attributes == {"medkb.hit": True}
    assert "query" not in named and "POST /v1/query" in named


def test_a_write_traces_its_store_calls(exporter: InMemorySpanExporter, client: TestClient) -> None:
    exporter.clear()
    made = client.post("/v1/pairs", json={"question": "What is gout?", "response": "Arthritis."})
    assert made.status_code == 201
    named = _by_name(list(exporter.get_finished_spans()))
    for name in ("relational.write", "vector.apply", "answer_cache.invalidate"):
        assert _ancestors(named[name], list(exporter.get_finished_spans()))[-1] == "POST /v1/pairs"


def test_no_question_text_or_identifier_lands_in_any_span(
    exporter: InMemorySpanExporter, client: TestClient
) -> None:
    spans = _trace_of(exporter, client)
    client.post("/v1/query", json={"query": ""})  # a failing request is traced too
    spans += list(exporter.get_finished_spans())
    for span in spans:
        texts = [span.name, *map(str, (span.attributes or {}).values())]
        texts += [str(v) for event in span.events for v in (event.attributes or {}).values()]
        assert not any(SECRET_WORD in t or "jane.doe" in t or "example.com" in t for t in texts)


def test_traces_are_exported_only_when_a_collector_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert traces_url(Settings()) is None
    endpoint = OtelSettings(endpoint="http://collector:4318/")
    assert traces_url(Settings(otel=endpoint)) == "http://collector:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://standard:4318")
    assert traces_url(Settings()) == "http://standard:4318/v1/traces"


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        """Quiet."""


def test_a_real_server_exports_its_spans_over_otlp(tmp_path: Path, embed_cache: Path) -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    database_url = f"sqlite:///{tmp_path / 'kb.db'}"
    keys = make_keys(database_url, ["t"])
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    env = server_env(tmp_path, database_url, embed_cache, MEDKB_OTEL__ENDPOINT=endpoint)
    server = start_server(env, tmp_path / "server.log")
    server.keys = keys
    try:
        with server.client("t") as api:
            assert api.post("/v1/query", json={"query": QUESTION}).status_code == 200
    finally:
        server.stop()  # the batch of spans is flushed at shutdown
        collector.shutdown()
        collector.server_close()
    names = set()
    for path, body in _Collector.received:
        assert path == "/v1/traces" and SECRET_WORD.encode() not in body
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                names.update(span.name for span in scope.spans)
    assert {"POST /v1/query", "query", *STAGES} <= names
