"""The evaluation harness on a tiny BEIR-style data set, in process and through the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.errors import InputError
from medkb.evaluation.corpus import ensure_corpus
from medkb.evaluation.datasets import load_qrels, load_queries
from medkb.evaluation.harness import evaluate
from tests.e2e.test_cli import medkb
from tests.integration.beir_fixture import write_beir


@pytest.fixture
def beir(tmp_path: Path) -> tuple[Path, Path, Path]:
    return write_beir(tmp_path / "beir")


@pytest.fixture
def eval_kb(tmp_path: Path, embed_cache: Path) -> Iterator[KnowledgeBase]:
    settings = Settings(home=tmp_path / "home", embedder="static", cache_dir=embed_cache)
    with build(settings) as opened:
        yield opened


def test_harness_scores_the_real_query_path(
    eval_kb: KnowledgeBase, beir: tuple[Path, Path, Path]
) -> None:
    corpus, queries_file, qrels_file = beir
    built = ensure_corpus(eval_kb, corpus)
    assert (built.pairs, built.reused) == (30, False)
    queries, qrels = load_queries(queries_file), load_qrels(qrels_file)
    assert qrels["q-gout-treat"] == {"gout-treatment": 2, "gout-what": 1}

    report = evaluate(eval_kb, queries, qrels, mode="hybrid", k=10)
    data = report.to_dict()
    assert (data["queries"], data["skipped"], data["depth"]) == (5, 1, 1)
    assert set(data["metrics"]) == {
        "recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "ndcg@10"
    }  # fmt: skip
    assert all(0.0 <= value <= 1.0 for value in data["metrics"].values())
    assert data["latency_ms"]["p95"] >= data["latency_ms"]["p50"] > 0

    one = evaluate(eval_kb, {"q": "How is gout treated?"}, {"q": {"gout-treatment": 1}}, k=10)
    assert one.queries == 1 and one.metrics["recall@10"] == 1.0 == one.metrics["recall@100"]
    strict = evaluate(eval_kb, queries, qrels, mode="keyword", k=5, min_relevance=2, depth=0)
    assert "recall@5" in strict.metrics and strict.queries == 5 and strict.depth == 0


def test_a_home_built_from_another_corpus_is_refused(
    eval_kb: KnowledgeBase, beir: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    corpus = beir[0]
    ensure_corpus(eval_kb, corpus)
    again = ensure_corpus(eval_kb, corpus)
    assert again.reused and again.ingest_s == 0.0 and again.pairs == 30
    assert again.built_s is not None and again.built_s > 0
    other = tmp_path / "other.jsonl"
    other.write_text(corpus.read_text().replace("doctors", "clinicians"))
    with pytest.raises(InputError, match="empty --home"):
        ensure_corpus(eval_kb, other)
    with pytest.raises(InputError, match="Unknown mode"):
        evaluate(eval_kb, {}, {}, mode="sparse")


def test_bad_evaluation_files_say_what_is_wrong(tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "q1"}\n')
    with pytest.raises(InputError, match="needs an 'id' and a 'query'"):
        load_queries(queries)
    qrels = tmp_path / "r.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nq1 d1 1\n")
    with pytest.raises(InputError, match="line 2"):
        load_qrels(qrels)


def test_cli_eval_json_then_reuses_the_home(
    beir: tuple[Path, Path, Path], embed_cache: Path, tmp_path: Path
) -> None:
    corpus, queries, qrels = beir
    files = ["--corpus", str(corpus), "--queries", str(queries), "--qrels", str(qrels)]
    home = tmp_path / "eval-home"
    first = medkb(tmp_path / "unused", embed_cache, "eval", *files, "--home", str(home), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["queries"] == 5 and report["mode"] == "hybrid"
    assert report["build"]["reused"] is False and report["build"]["pairs"] == 30
    assert report["metrics"]["recall@100"] > 0.5

    second = medkb(
        tmp_path / "unused", embed_cache, "eval", *files, "--home", str(home), "--mode", "keyword"
    )
    assert second.returncode == 0, second.stderr
    assert "reused" in second.stdout and "ndcg@10" in second.stdout

    temporary = medkb(tmp_path / "unused", embed_cache, "eval", *files, "--mode", "dense", "--json")
    assert temporary.returncode == 0, temporary.stderr
    build = json.loads(temporary.stdout)["build"]
    assert build["home"] is None and build["reused"] is False and build["pairs"] == 30
    assert not (tmp_path / "unused").exists()  # MEDKB_HOME is never written by eval
