"""Defect: a tenant's row and a day's analytics row were made by a select then an insert,
so processes writing a new tenant's first pairs at once (several API workers) clashed on
the primary key and their writes failed with WriteConflict."""

from __future__ import annotations

import threading

from medkb.app import KnowledgeBase
from medkb.models import QAPair


def test_concurrent_first_writes_of_a_new_tenant_and_day_do_not_conflict(
    kb: KnowledgeBase,
) -> None:
    failures: list[BaseException] = []

    def write(i: int) -> None:
        try:
            kb.add([QAPair(id=f"qa-race-{i}", question=f"Question {i}?", response=f"Answer {i}.")])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert kb.stats()["relational_pairs"] == 12
