"""LLM answer mode against a real chat-completions server on 127.0.0.1.

The server is ``http.server`` in a thread, started and stopped by each test; it answers
with whatever the test scripts (a reply text, an HTTP error, or a delay) and records the
requests it got.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from medkb.answer import llm
from medkb.answer.compose import Answerer
from medkb.answer.extractive import Evidence
from medkb.app import build
from medkb.config import AnswerSettings, LLMSettings, Settings
from medkb.models import QAPair
from tests.e2e.test_cli import medkb
from tests.fixtures_servers import free_port
from tests.integration.beir_fixture import write_beir

FLU = Evidence("flu-1", "What is the flu?", "Influenza is a viral infection of the airways.", 0.9)
SPREAD = Evidence("flu-2", "How does flu spread?", "Flu spreads by droplets from coughs.", 0.7)
QUERY = "what is flu and how does it spread"


@dataclass
class Script:
    """What the fake endpoint does next, and what it was asked."""

    reply: str = ""
    status: int = 200
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ChatServer:
    url: str
    script: Script


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.requests.append(
                {"path": self.path, "body": body, "auth": self.headers["Authorization"]}
            )
            time.sleep(script.delay_s)
            if script.status != 200:
                self._send(script.status, {"error": {"message": "model overloaded"}})
                return
            message = {"role": "assistant", "content": script.reply}
            self._send(
                200, {"object": "chat.completion", "choices": [{"index": 0, "message": message}]}
            )

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            # The client may have given up (the timeout test).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

    return Handler


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    script = Script()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(script))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ChatServer(f"http://127.0.0.1:{server.server_port}/v1", script)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _answerer(url: str, **llm_changes: Any) -> Answerer:
    settings = AnswerSettings(llm=LLMSettings(url=url, model="test-model", **llm_changes))
    return Answerer(settings, embedder="static")


def test_a_cited_answer_is_mapped_to_the_pairs(chat_server: ChatServer) -> None:
    chat_server.script.reply = "Flu is a viral infection [1]. It spreads by droplets [2]."
    composed = _answerer(chat_server.url, api_key="sk-test").answer(QUERY, QUERY, [FLU, SPREAD])
    assert composed.info.mode == "llm" and composed.info.warnings == []
    assert composed.text.startswith("Flu is a viral infection [1]. It spreads by droplets [2].")
    assert [(c["number"], c["id"]) for c in composed.citations] == [(1, "flu-1"), (2, "flu-2")]
    assert composed.info.uncited_sentences == []
    request = chat_server.script.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test"
    assert request["body"]["model"] == "test-model"
    prompt = request["body"]["messages"][-1]["content"]
    assert "[1] Q: What is the flu?" in prompt and "[2] Q: How does flu spread?" in prompt
    assert "[n]" in prompt and QUERY in prompt


def test_sentences_citing_nothing_are_flagged(chat_server: ChatServer) -> None:
    chat_server.script.reply = "Flu is a viral infection. [1] Drink plenty of water. Rest well."
    composed = _answerer(chat_server.url).answer(QUERY, QUERY, [FLU, SPREAD])
    assert composed.info.uncited_sentences == ["Drink plenty of water.", "Rest well."]
    assert composed.citations[0]["sentences"] == ["Flu is a viral infection."]
    assert any("cite no source" in warning for warning in composed.info.warnings)


def test_citations_of_numbers_not_given_are_dropped(chat_server: ChatServer) -> None:
    chat_server.script.reply = "Flu is viral [1, 7]. It can be deadly [9]."
    composed = _answerer(chat_server.url).answer(QUERY, QUERY, [FLU, SPREAD])
    assert "[7]" not in composed.text and "[9]" not in composed.text
    assert composed.text.startswith("Flu is viral [1]. It can be deadly.")
    assert composed.info.uncited_sentences == ["It can be deadly."]
    assert [c["id"] for c in composed.citations] == ["flu-1"]
    assert any("[7], [9]" in warning for warning in composed.info.warnings)


def test_a_server_error_falls_back_to_the_extractive_answer(chat_server: ChatServer) -> None:
    chat_server.script.status = 500
    composed = _answerer(chat_server.url).answer(QUERY, QUERY, [FLU, SPREAD])
    assert composed.info.mode == "extractive"
    assert "[1]" in composed.text and composed.citations
    assert "500" in composed.info.warnings[0] and "extractive" in composed.info.warnings[0]


def test_a_slow_server_times_out_and_falls_back(chat_server: ChatServer) -> None:
    chat_server.script.delay_s = 2.0
    composed = _answerer(chat_server.url, timeout_s=0.3).answer(QUERY, QUERY, [FLU, SPREAD])
    assert composed.info.mode == "extractive"
    assert "did not answer within 0.3 s" in composed.info.warnings[0]


def test_an_unreachable_endpoint_falls_back() -> None:
    composed = _answerer(f"http://127.0.0.1:{free_port()}/v1").answer(QUERY, QUERY, [FLU])
    assert composed.info.mode == "extractive" and composed.info.warnings


def test_a_reply_that_is_not_a_chat_completion_falls_back(chat_server: ChatServer) -> None:
    chat_server.script.reply = ""
    composed = _answerer(chat_server.url).answer(QUERY, QUERY, [FLU])
    assert composed.info.mode == "extractive" and "empty" in composed.info.warnings[0]


def test_kb_query_in_llm_mode_keeps_the_urgent_notice_and_disclaimer(
    chat_server: ChatServer, tmp_path: Path, embed_cache: Path
) -> None:
    chat_server.script.reply = "Chest pain with breathlessness can be a heart attack [1]."
    answer = AnswerSettings(llm=LLMSettings(url=chat_server.url, model="m"), min_cosine={})
    settings = Settings(
        home=tmp_path / "kb", embedder="static", cache_dir=embed_cache, answer=answer
    )
    with build(settings) as kb:
        kb.add(
            [
                QAPair(
                    id="mi",
                    question="What are the signs of a heart attack?",
                    response="Chest pain and shortness of breath are signs of a heart attack.",
                )
            ]
        )
        result = kb.query("crushing chest pain and I can't breathe, what do I do", log=False)
    data = result.to_dict()
    assert data["answer"].startswith("URGENT: this may be a medical emergency.")
    assert data["answer"].startswith(data["safety"]["notice"])
    assert data["safety"]["category"] in {"cardiac", "breathing"}
    assert data["answer"].endswith(answer.disclaimer)
    assert "can be a heart attack [1]." in data["answer"]
    assert data["answer_mode"] == "llm" and data["safety"]["flag"] is True
    assert data["citations"][0]["id"] == "mi"


def test_check_moves_a_marker_that_opens_a_sentence_to_the_one_before() -> None:
    checked = llm.check("It is viral.\n[2] See a doctor [1][2].", [FLU, SPREAD])
    assert checked.uncited == []
    assert [c.id for c in checked.answer.citations] == ["flu-2", "flu-1"]


def test_medkb_eval_never_calls_the_llm_endpoint(
    chat_server: ChatServer,
    embed_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDKB_LLM_URL", chat_server.url)
    monkeypatch.setenv("MEDKB_LLM_MODEL", "test-model")
    corpus, queries, qrels = write_beir(tmp_path / "beir")
    files = ["--corpus", str(corpus), "--queries", str(queries), "--qrels", str(qrels)]
    done = medkb(tmp_path / "home", embed_cache, "eval", *files, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["queries"] == 5
    assert chat_server.script.requests == []  # retrieval is measured, not the LLM


def test_an_open_circuit_skips_the_endpoint_until_a_trial_call_succeeds(
    chat_server: ChatServer,
) -> None:
    from medkb.resilience.breaker import CircuitBreaker, LLMCircuitOpen, State

    now = [0.0]
    breaker = CircuitBreaker(
        "LLM endpoint", failures=2, reset_s=60, clock=lambda: now[0], refusal=LLMCircuitOpen
    )
    settings = AnswerSettings(llm=LLMSettings(url=chat_server.url, model="test-model"))
    answerer = Answerer(settings, embedder="static", breaker=breaker)
    chat_server.script.status = 500
    for _ in range(2):
        failed = answerer.answer(QUERY, QUERY, [FLU, SPREAD])
        assert failed.info.mode == "extractive" and "LLM answer failed" in failed.info.warnings[0]
    assert breaker.state is State.OPEN and len(chat_server.script.requests) == 2
    skipped = answerer.answer(QUERY, QUERY, [FLU, SPREAD])
    assert skipped.info.mode == "extractive" and skipped.citations
    assert skipped.info.warnings == [
        "LLM endpoint not called: it failed repeatedly, so its circuit is open for 60 s more; "
        "extractive answer given."
    ]
    assert len(chat_server.script.requests) == 2  # not called while open
    chat_server.script.status, chat_server.script.reply = 200, "Flu is a viral infection [1]."
    now[0] = 61.0  # half-open: one trial call goes through and closes the circuit
    back = answerer.answer(QUERY, QUERY, [FLU, SPREAD])
    assert back.info.mode == "llm" and breaker.state is State.CLOSED
    assert len(chat_server.script.requests) == 3
