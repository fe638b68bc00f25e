"""The answer step: urgent notice first, abstention on weak evidence, disclaimer."""

from __future__ import annotations

import dataclasses

from medkb.answer import abstain
from medkb.answer.compose import Answerer
from medkb.answer.extractive import Evidence
from medkb.config import AnswerSettings

FLU = Evidence(
    id="flu-1",
    question="What is the flu?",
    response="Influenza is a contagious respiratory illness caused by viruses. "
    "It spreads through droplets when people cough.",
    score=0.9,
    source="CDC",
    cosine=0.82,
)
HEART = Evidence(
    id="heart-1",
    question="What are the signs of a heart attack?",
    response="Chest pain and shortness of breath are common signs of a heart attack. "
    "Call an ambulance at once.",
    score=0.8,
    cosine=0.31,
)


def _answerer(**changes: object) -> Answerer:
    return Answerer(AnswerSettings(**changes), embedder="static")  # type: ignore[arg-type]


def test_a_plain_question_gets_a_cited_answer_and_the_disclaimer() -> None:
    settings = AnswerSettings()
    composed = Answerer(settings, embedder="static").answer("What is flu?", "What is flu?", [FLU])
    assert composed.text.endswith(settings.disclaimer)
    assert "[1]" in composed.text and composed.citations[0]["id"] == "flu-1"
    assert composed.info.mode == "extractive" and composed.info.safety is None
    assert composed.info.signals == {"cosine": 0.82, "overlap": 1.0}


def test_an_emergency_gets_the_urgent_notice_first_whatever_the_evidence() -> None:
    query = "I have crushing chest pain and can't breathe"
    for evidence in ([HEART], [FLU], []):
        composed = _answerer().answer(query, query, evidence)
        assert composed.text.startswith("URGENT: this may be a medical emergency. Call your")
        assert composed.info.safety is not None
        assert composed.info.safety["category"] in {"cardiac", "breathing"}
        assert composed.info.safety["cue"]


def test_suicide_adds_the_crisis_line_and_notices_are_configurable() -> None:
    composed = _answerer(urgent_notice="CALL 112.", crisis_notice="Crisis line: 116 123.").answer(
        "i want to kill myself", "i want to kill myself", [FLU]
    )
    assert composed.text.startswith("CALL 112. Crisis line: 116 123. Stay with the person")
    assert composed.info.safety == {
        "flag": True,
        "category": "suicide",
        "cue": "kill myself",
        "score": 1.0,
        "evidence": [{"kind": "cue", "text": "kill myself", "weight": 1.0}],
        "notice": composed.text.split("\n\n")[0],
    }


def test_red_flags_can_be_switched_off() -> None:
    query = "I think I'm having a stroke"
    composed = _answerer(red_flags=False).answer(query, query, [FLU])
    assert composed.info.safety is None and "URGENT" not in composed.text


def test_weak_evidence_abstains_with_the_nearest_topics() -> None:
    query = "How do I change a car tyre?"
    composed = _answerer().answer(query, query, [HEART, dataclasses.replace(FLU, cosine=0.2)])
    assert composed.info.abstained and composed.info.mode == "abstained"
    assert composed.text.startswith(abstain.NOT_FOUND)
    assert "What is the flu?" in composed.text and composed.citations == []
    assert [t["id"] for t in composed.info.nearest_topics] == ["flu-1", "heart-1"]


def test_abstention_thresholds_are_per_embedder_and_can_be_disabled() -> None:
    query = "signs of a heart attack"
    assert _answerer().answer(query, query, [HEART]).info.abstained  # cosine .31 < .55
    unknown = Answerer(AnswerSettings(), embedder="another-model")
    assert not unknown.answer(query, query, [HEART]).info.abstained
    assert not _answerer(abstain=False).answer(query, query, [HEART]).info.abstained


def test_empty_disclaimer_is_left_out_and_no_evidence_abstains() -> None:
    composed = _answerer(disclaimer="").answer("What is flu?", "What is flu?", [])
    assert composed.text == abstain.NOT_FOUND


def test_signals_use_the_top_hits_and_absolute_scales() -> None:
    found = abstain.signals("flu cough droplets", [FLU, HEART])
    assert found.cosine == 0.82 and found.overlap == 1.0
    assert abstain.signals("flu", []).cosine is None
    assert abstain.signals("what is it", [FLU]).overlap == 0.0  # no content words
    keyword_only = abstain.signals("flu", [Evidence("a", "flu?", "Flu is a virus.", 1.0)])
    assert keyword_only.cosine is None and keyword_only.overlap == 1.0


def test_weak_checks_cosine_only_when_there_is_one() -> None:
    assert abstain.weak(abstain.Signals(0.4, 1.0), min_cosine=0.5, min_overlap=0.0)
    assert not abstain.weak(abstain.Signals(None, 0.5), min_cosine=0.5, min_overlap=0.3)
    assert abstain.weak(abstain.Signals(0.9, 0.2), min_cosine=0.5, min_overlap=0.3)
