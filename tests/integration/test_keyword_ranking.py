"""Keyword ranking on both relational backends: rare terms count more, question = answer."""

from __future__ import annotations

from medkb.app import KnowledgeBase
from medkb.models import QAMetadata, QAPair
from medkb.stores.relational.keyword import keyword_search


def pair(qa_id: str, question: str, response: str) -> QAPair:
    return QAPair(id=qa_id, question=question, response=response, metadata=QAMetadata())


COMMON = [
    pair(f"pain-{n}", f"Pain question {n}?", f"Pain can have many causes, case {n}.")
    for n in range(6)
]
RARE = pair("sarcoid", "What is it?", "Sarcoidosis causes small lumps of cells in organs.")


def ranked(kb: KnowledgeBase, words: list[str]) -> list[str]:
    with kb.engine.connect() as conn:
        hits = keyword_search(conn, words, tenant_id="default", filters=None, limit=10)
    return [qa_id for qa_id, _score in hits]


def test_a_rare_term_outranks_a_common_one(kb: KnowledgeBase) -> None:
    kb.add([*COMMON, RARE])
    found = ranked(kb, ["pain", "sarcoidosis"])
    assert found[0] == "sarcoid"
    assert set(found) == {"sarcoid", *(p.id for p in COMMON)}


def test_no_matching_or_no_usable_terms_give_nothing(kb: KnowledgeBase) -> None:
    kb.add([*COMMON, RARE])
    assert ranked(kb, ["xylophone"]) == []
    assert ranked(kb, []) == []
    assert ranked(kb, ["'", "&|!"]) == []


def test_question_and_answer_matches_count_alike(kb: KnowledgeBase) -> None:
    kb.add(
        [
            pair("in-question", "Gout flare", "Joint pain"),
            pair("in-answer", "Joint pain", "Gout flare"),
        ]
    )
    with kb.engine.connect() as conn:
        scores = dict(keyword_search(conn, ["gout"], tenant_id="default", filters=None, limit=5))
    assert set(scores) == {"in-question", "in-answer"}
    assert abs(scores["in-question"] - scores["in-answer"]) < 1e-6 * max(scores.values())
