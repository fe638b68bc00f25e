"""Queries append to ``query_logs`` only: they never write the per-day ``analytics`` row,
which every concurrent query used to update (and race to create on PostgreSQL), while
``stats`` still reports the right query count, latency and ratings from the logs.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from medkb.models import QAMetadata, QAPair
from medkb.stores.relational.schema import analytics, query_logs

PAIRS = [
    QAPair(
        id=f"p{i}",
        question=f"What are the symptoms of condition {i}?",
        response=f"Condition {i} causes fatigue, fever and headache number {i}.",
        metadata=QAMetadata(category="General"),
    )
    for i in range(8)
]
QUESTIONS = ["symptoms of condition 3", "fever and headache", "what causes fatigue"]


def analytics_rows(kb: KnowledgeBase) -> list[dict[str, Any]]:
    with kb.engine.connect() as conn:
        rows = conn.execute(sa.select(analytics).order_by(analytics.c.date)).mappings()
        return [dict(row) for row in rows]


def logged(kb: KnowledgeBase) -> tuple[int, float]:
    """Count and mean ``response_time_ms`` of the query logs, straight from the table."""
    with kb.engine.connect() as conn:
        times = conn.execute(sa.select(query_logs.c.response_time_ms)).scalars().all()
    return len(times), sum(times) / len(times)


def in_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in ``count`` threads released together; return what they raised."""
    barrier, failures = threading.Barrier(count), []

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # reported by the caller, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


CHILD = """
import sys
from pathlib import Path
from medkb.app import build
from medkb.config import Settings

settings = Settings(home=Path(sys.argv[1]), embedder="static", cache_dir=Path(sys.argv[2]),
                    database_url=sys.argv[3])
with build(settings) as kb:
    for n in range(int(sys.argv[4])):
        kb.query(["symptoms of condition 3", "fever and headache"][n % 2])
"""


def query_in_processes(settings: Settings, processes: int, each: int) -> None:
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(settings.home),
                str(settings.cache_dir),
                settings.resolved_database_url(),
                str(each),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for child in children:
        _, errors = child.communicate(timeout=180)
        assert child.returncode == 0, errors


def test_concurrent_queries_never_touch_the_analytics_row(
    kb: KnowledgeBase, settings: Settings
) -> None:
    kb.add(PAIRS)
    kb.query("warm-up: load the embedder and the indexes")
    before = analytics_rows(kb)
    assert before and before[0]["ingested_count"] == len(PAIRS)

    failures = in_threads(6, lambda i: [kb.query(QUESTIONS[(i + n) % 3]) for n in range(4)])
    assert failures == []
    query_in_processes(settings, processes=2, each=5)

    assert analytics_rows(kb) == before  # not one counter of the hot row moved
    count, mean_ms = logged(kb)
    assert count == 1 + 6 * 4 + 2 * 5
    stats = kb.stats()
    assert stats["queries"] == count
    assert stats["avg_response_time_ms"] == pytest.approx(mean_ms, abs=0.01)
    assert stats["ingested"] == len(PAIRS)


def test_feedback_is_counted_from_the_query_logs(kb: KnowledgeBase) -> None:
    kb.add(PAIRS)
    first, second = kb.query(QUESTIONS[0]), kb.query(QUESTIONS[1])
    before = analytics_rows(kb)
    assert first.query_log_id is not None and second.query_log_id is not None
    kb.feedback(first.query_log_id, rating=2)
    kb.feedback(first.query_log_id, rating=4)  # a second rating replaces the first
    kb.feedback(second.query_log_id, rating=5, comment="clear")
    stats = kb.stats()
    assert (stats["queries"], stats["feedback_count"], stats["avg_rating"]) == (2, 2, 4.5)
    assert analytics_rows(kb) == before


@pytest.mark.postgres
def test_concurrent_first_queries_of_a_day_all_succeed_on_postgresql(
    tmp_path: Path, embed_cache: Path, pg_url: str
) -> None:
    settings = Settings(
        home=tmp_path / "home", embedder="static", cache_dir=embed_cache, database_url=pg_url
    )
    with build(settings) as kb:
        kb.add(PAIRS)
        kb.query("warm-up", log=False)
        with kb.engine.begin() as conn:  # a new day: no analytics row yet
            conn.execute(analytics.delete())
        threads = 12
        failures = in_threads(threads, lambda i: [kb.query(QUESTIONS[i % 3]) for _ in range(3)])
        assert failures == []
        assert kb.stats()["queries"] == threads * 3
        assert analytics_rows(kb) == []
