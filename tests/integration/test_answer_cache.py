"""The answer cache through the knowledge base, in-process and on the machine's Redis:
repeated questions are answered from it, and any write to a pair an answer cites or
returns (from this or another process) drops it; a dead Redis never fails a query."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from medkb.app import KnowledgeBase, build
from medkb.config import CacheSettings, Settings
from medkb.models import QAPair
from tests.api.test_service import _start_redis
from tests.contract.test_api_guards import REDIS_URL, _cleanup, _redis
from tests.fixtures_servers import free_port

QUESTION = "What are the symptoms of measles?"
PAIRS = [
    QAPair("qa-measles", QUESTION, "Fever, cough and a red blotchy rash."),
    QAPair("qa-mumps", "What are the symptoms of mumps?", "Swollen glands below the ears."),
    QAPair("qa-gout", "How is gout treated?", "Anti-inflammatory drugs and rest."),
]


def _settings(tmp_path: Path, embed_cache: Path, redis_url: str | None, prefix: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        embedder="static",
        cache_dir=embed_cache,
        redis_url=redis_url,
        cache=CacheSettings(redis_prefix=prefix),
    )


@pytest.fixture(params=["memory", "redis"])
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, embed_cache: Path
) -> Iterator[Settings]:
    prefix = f"medkb-test-{uuid.uuid4().hex}:"
    if request.param == "memory":
        yield _settings(tmp_path, embed_cache, None, prefix)
        return
    client = _redis()
    yield _settings(tmp_path, embed_cache, REDIS_URL, prefix)
    _cleanup(client, prefix)
    client.close()


@pytest.fixture
def kb(settings: Settings) -> Iterator[KnowledgeBase]:
    with build(settings) as opened:
        opened.add([QAPair(p.id, p.question, p.response) for p in PAIRS])
        yield opened


def test_a_repeated_question_is_answered_from_the_cache_and_logged(kb: KnowledgeBase) -> None:
    first = kb.answer(QUESTION)
    asked = "  What are the   symptoms of\nmeasles?  "  # the same, whitespace aside
    again = kb.answer(asked)
    assert first["cached"] is False and again["cached"] is True
    assert again["answer"] == first["answer"] and again["hits"] == first["hits"]
    assert again["query"] == asked
    assert again["query_log_id"] != first["query_log_id"]  # feedback goes to its own row
    assert set(again["timings_ms"]) == {"cache", "total"}
    assert kb.answer("Hi, " + QUESTION)["cached"] is False  # triage reads the raw message
    assert kb.answer(QUESTION, top_k=2)["cached"] is False  # other options, other entry
    assert kb.answer(QUESTION, mode="keyword")["cached"] is False


def test_updating_a_cited_pair_drops_the_answer(kb: KnowledgeBase) -> None:
    first = kb.answer(QUESTION)
    cited = first["citations"][0]["id"]
    assert kb.answer(QUESTION)["cached"] is True
    kb.update(cited, response="Fever, cough, sore eyes and a rash that spreads down.")
    after = kb.answer(QUESTION)
    assert after["cached"] is False
    assert "sore eyes" in after["answer"]


def test_changing_a_pair_the_answer_only_returns_drops_it_too(kb: KnowledgeBase) -> None:
    first = kb.answer(QUESTION)
    returned = first["hits"][-1]["id"]
    assert returned not in {c["id"] for c in first["citations"]} or len(first["hits"]) == 1
    kb.update(returned, metadata={"category": "Other"})
    assert kb.answer(QUESTION)["cached"] is False


def test_deleting_a_cited_pair_drops_the_answer(kb: KnowledgeBase) -> None:
    first = kb.answer(QUESTION)
    cited = first["citations"][0]["id"]
    kb.delete(cited)
    after = kb.answer(QUESTION)
    assert after["cached"] is False
    assert cited not in {hit["id"] for hit in after["hits"]}


def test_a_new_pair_drops_the_tenants_answers(kb: KnowledgeBase) -> None:
    kb.answer(QUESTION)
    kb.add([QAPair("qa-measles-2", "Is measles contagious?", "Very: by air, for days.")])
    assert kb.answer(QUESTION)["cached"] is False


def test_one_tenants_cached_answer_is_never_served_to_another(kb: KnowledgeBase) -> None:
    a = kb.answer(QUESTION)
    assert kb.answer(QUESTION)["cached"] is True
    with kb.for_tenant("tenant-b") as b:
        b.add([QAPair("qa-b-measles", QUESTION, "Tenant B's own measles answer.")])
        answered = b.answer(QUESTION)
        assert answered["cached"] is False
        assert {hit["id"] for hit in answered["hits"]} == {"qa-b-measles"}
        assert answered["answer"] != a["answer"]
        b.update("qa-b-measles", response="Changed by B.")
    assert kb.answer(QUESTION)["cached"] is True  # B's writes do not drop A's answers


def test_a_write_from_another_process_drops_the_answer(settings: Settings) -> None:
    if settings.redis_url is None:
        pytest.skip("the in-process cache is per process by design (docs/api.md)")
    with build(settings) as server, build(settings) as other:
        server.add(list(PAIRS))
        cited = server.answer(QUESTION)["citations"][0]["id"]
        assert server.answer(QUESTION)["cached"] is True
        other.update(cited, response="Changed elsewhere: fever and a rash.")
        after = server.answer(QUESTION)
        assert after["cached"] is False and "elsewhere" in after["answer"]


def test_queries_answer_while_redis_is_down_and_writes_still_succeed(
    tmp_path: Path, embed_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("redis")
    port = free_port()
    redis = _start_redis(port, tmp_path)
    settings = _settings(tmp_path, embed_cache, f"redis://127.0.0.1:{port}/0", "medkb:")
    with build(settings) as kb, caplog.at_level(logging.WARNING):
        kb.add(list(PAIRS))
        kb.answer(QUESTION)
        assert kb.answer(QUESTION)["cached"] is True
        redis.kill()
        redis.wait()
        down = kb.answer(QUESTION)
        kb.update("qa-gout", response="Rest, ice and anti-inflammatory drugs.")
        assert kb.answer(QUESTION)["cached"] is False
    assert down["cached"] is False and down["citations"]
    assert "answering without it" in caplog.text and "may stay cached" in caplog.text


def test_an_unreachable_redis_never_fails_a_query(tmp_path: Path, embed_cache: Path) -> None:
    pytest.importorskip("redis")
    url = f"redis://127.0.0.1:{free_port()}/0"
    with build(_settings(tmp_path, embed_cache, url, "medkb:")) as kb:
        kb.add(list(PAIRS))
        assert kb.answer(QUESTION)["citations"]
        assert kb.answer(QUESTION)["cached"] is False
