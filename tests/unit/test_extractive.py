"""Extractive answers: sentence choice, ordering, numbering, and the verbatim invariant."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from medkb.answer.extractive import NOTHING_FOUND, Answer, Citation, Evidence, compose, points

GLAUCOMA = Evidence(
    id="g1",
    question="What is glaucoma?",
    response=(
        "Glaucoma is a group of diseases that damage the optic nerve. "
        "It is a leading cause of blindness. "
        "Regular eye exams help find it early."
    ),
    score=0.9,
    source="NEI",
)
TREATMENT = Evidence(
    id="g2",
    question="How is glaucoma treated?",
    response=(
        "Glaucoma treatment usually starts with eye drops. "
        "Laser surgery and conventional surgery are other options."
    ),
    score=0.5,
    source="MedlinePlus",
)
UNRELATED = Evidence(
    id="x9",
    question="What is asthma?",
    response="Asthma is a chronic disease of the airways. Inhalers relieve attacks.",
    score=0.1,
    source=None,
)


def rebuilt(answer: Answer) -> str:
    """The text an answer must have, given its citations."""
    return " ".join(f"{s} [{c.number}]" for c in answer.citations for s in c.sentences)


def test_no_evidence() -> None:
    assert compose("What is glaucoma?", []) == Answer(text=NOTHING_FOUND, citations=[])


def test_evidence_without_sentences() -> None:
    empty = Evidence(id="e", question="q", response="  ...  ", score=1.0)
    assert compose("q", [empty]) == Answer(text=NOTHING_FOUND, citations=[])


def test_picks_sentences_matching_the_query() -> None:
    # The best match sits in the second-ranked response; it beats the top response's lead.
    evidence = [UNRELATED, GLAUCOMA, TREATMENT]
    answer = compose("glaucoma laser surgery options", evidence, max_sentences=1)
    assert answer.citations == [
        Citation(
            1, "g2", "MedlinePlus", ["Laser surgery and conventional surgery are other options."]
        )
    ]


def test_inflections_match() -> None:
    evidence = [GLAUCOMA, dataclasses.replace(TREATMENT, score=GLAUCOMA.score)]
    answer = compose("How is glaucoma treated?", evidence, max_sentences=1)
    assert answer.citations[0].sentences == ["Glaucoma treatment usually starts with eye drops."]


def test_orders_by_source_then_original_order_and_numbers_by_first_use() -> None:
    answer = compose("glaucoma treatment eye drops surgery blindness", [TREATMENT, GLAUCOMA])
    assert [c.id for c in answer.citations] == ["g1", "g2"]  # g1 has the higher score
    assert [c.number for c in answer.citations] == [1, 2]
    first = answer.citations[0].sentences
    assert first == sorted(first, key=GLAUCOMA.response.index)
    assert answer.text == rebuilt(answer)
    assert answer.text.startswith("Glaucoma is a group")


def test_citation_carries_source() -> None:
    answer = compose("glaucoma", [GLAUCOMA], max_sentences=1)
    assert answer.citations == [
        Citation(
            number=1,
            id="g1",
            source="NEI",
            sentences=["Glaucoma is a group of diseases that damage the optic nerve."],
        )
    ]
    assert answer.text == "Glaucoma is a group of diseases that damage the optic nerve. [1]"


def test_limits() -> None:
    answer = compose("glaucoma", [GLAUCOMA, TREATMENT, UNRELATED], max_sentences=3, max_sources=2)
    assert sum(len(c.sentences) for c in answer.citations) == 3
    assert {c.id for c in answer.citations} <= {"g1", "g2"}


def test_near_duplicates_across_sources_are_skipped() -> None:
    copy = Evidence(
        id="copy",
        question="Glaucoma?",
        response="Glaucoma is a group of diseases that damage the optic nerve!",
        score=0.8,
    )
    answer = compose("glaucoma optic nerve", [GLAUCOMA, copy], max_sentences=4)
    assert [c.id for c in answer.citations] == ["g1"]
    assert len(answer.citations[0].sentences) == 3


def test_repeated_evidence_ids_count_once() -> None:
    answer = compose("glaucoma", [GLAUCOMA, GLAUCOMA], max_sources=2)
    assert [c.id for c in answer.citations] == ["g1"]


def test_headings_and_questions_avoided_when_statements_exist() -> None:
    item = Evidence(
        id="h",
        question="Symptoms of glaucoma?",
        response="Symptoms\nWhat are the symptoms of glaucoma?\nGlaucoma often has no symptoms.",
        score=1.0,
    )
    answer = compose("glaucoma symptoms", [item], max_sentences=1)
    assert answer.citations[0].sentences == ["Glaucoma often has no symptoms."]


@pytest.mark.parametrize(("sentences", "sources"), [(0, 1), (1, 0)])
def test_invalid_limits_rejected(sentences: int, sources: int) -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        compose("q", [GLAUCOMA], max_sentences=sentences, max_sources=sources)


def test_non_finite_score_rejected() -> None:
    bad = Evidence(id="b", question="q", response="A sentence here.", score=math.nan)
    with pytest.raises(ValueError, match="finite"):
        compose("q", [bad])


# --- the verbatim invariant -------------------------------------------------------------


def whole_points(citation: Citation, response: str) -> list[tuple[str, ...]]:
    """The points (a sentence, or a list with its lead-in) a citation quotes; fails when it
    quotes part of a list."""
    remaining, found = list(citation.sentences), []
    for point in points(response):
        if tuple(remaining[: len(point)]) == point:
            remaining, found = remaining[len(point) :], [*found, point]
    assert not remaining, f"{citation.sentences} cut a point of {response!r}"
    return found


WORDS = st.sampled_from(
    ["glaucoma", "eye", "pressure", "nerve", "Dr.", "e.g.", "U.S.", "5", "mg.", "drops", "is", "a"]
)
SENTENCE = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(WORDS, min_size=1, max_size=8),
    st.sampled_from([".", "!", "?", "", ":"]),
)
RESPONSES = st.one_of(
    st.lists(SENTENCE, max_size=6).map(" ".join),
    st.lists(SENTENCE, max_size=6).map("\n- ".join),
    st.text(max_size=200),
)
EVIDENCE = st.builds(
    Evidence,
    id=st.sampled_from(["a", "b", "c", "d", "e"]),
    question=st.text(max_size=30),
    response=RESPONSES,
    score=st.floats(-5, 5),
    source=st.none() | st.sampled_from(["NEI", "NIH"]),
)


@given(
    query=st.text(max_size=60) | st.lists(WORDS, max_size=5).map(" ".join),
    evidence=st.lists(EVIDENCE, max_size=6),
    max_sentences=st.integers(1, 6),
    max_sources=st.integers(1, 4),
)
@example(
    query="glaucoma [1]",
    evidence=[Evidence("a", "q", "Cites [2] here. Glaucoma [1] too.", 1.0)],
    max_sentences=4,
    max_sources=3,
)
def test_every_answer_sentence_is_verbatim_and_cited(
    query: str, evidence: list[Evidence], max_sentences: int, max_sources: int
) -> None:
    answer = compose(query, evidence, max_sentences=max_sentences, max_sources=max_sources)
    responses = {item.id: item.response for item in reversed(evidence)}  # first wins
    if not answer.citations:
        assert answer.text == NOTHING_FOUND
        assert all(not re.search(r"[^\W_]", response) for response in responses.values())
        return
    assert answer.text == rebuilt(answer)
    assert [c.number for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for citation in answer.citations:
        assert f"[{citation.number}]" in answer.text
        assert citation.sentences
        for sentence in citation.sentences:
            assert sentence in responses[citation.id]
    quoted = [p for c in answer.citations for p in whole_points(c, responses[c.id])]
    assert len(quoted) <= max_sentences
    assert len(quoted) == len(set(quoted))
    assert len(answer.citations) <= max_sources
    assert len({c.id for c in answer.citations}) == len(answer.citations)
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert set(range(1, len(answer.citations) + 1)) <= set(numbers)


@given(st.lists(EVIDENCE, min_size=1, max_size=6))
def test_best_evidence_with_text_is_cited(evidence: list[Evidence]) -> None:
    answer = compose("glaucoma", evidence, max_sources=1)
    first = {item.id: item for item in reversed(evidence)}
    quotable = [item for item in first.values() if re.search(r"[^\W_]", item.response)]
    if quotable:
        top = max(item.score for item in quotable)
        assert [c.id for c in answer.citations] in (
            [item.id] for item in quotable if item.score == top
        )
    else:
        assert answer.citations == []


# --- topicality: the demo's answers (issue: answers that stay on topic) -----------------


def demo_pair(qa_id: str, score: float) -> Evidence:
    from medkb.demo import demo_files

    path = next(p for p in demo_files() if p.suffix == ".jsonl")
    rows = {row["id"]: row for row in map(json.loads, path.read_text().splitlines())}
    return Evidence(qa_id, rows[qa_id]["question"], rows[qa_id]["answer"], score)


def test_stroke_answer_quotes_no_heart_attack_signs() -> None:
    """The demo's stroke answer quoted the heart-attack pair's symptoms as stroke signs."""
    evidence = [
        demo_pair("demo-012", 1.0),
        demo_pair("demo-007", 0.84),
        demo_pair("demo-014", 0.73),
    ]
    answer = compose("What are the warning signs of a stroke?", evidence)
    assert [c.id for c in answer.citations] == ["demo-012"]
    assert "chest" not in answer.text and "FAST" in answer.text


def test_low_blood_sugar_answer_gives_the_15_gram_advice_once() -> None:
    """Two pairs answering the same question both said 'take 15 grams ...'."""
    docx = Evidence(
        "qa-docx",
        "What should I do if my blood sugar is low?",
        "If it is below 70 mg/dL (3.9 mmol/L), take 15 grams of fast-acting carbohydrate, "
        "such as glucose tablets or half a glass of juice. Check again after 15 minutes and "
        "repeat if needed, then eat a snack or meal.",
        0.88,
    )
    answer = compose(
        "What should I do if my blood sugar is too low?", [demo_pair("demo-023", 1.0), docx]
    )
    assert len(re.findall(r"15 grams", answer.text)) == 1
    assert "snack or meal" in answer.text and answer.text.count("snack or meal") == 1


def test_another_pair_answering_the_same_question_may_add_a_point() -> None:
    other = Evidence(
        "g3", "What is glaucoma?", "Glaucoma often runs in families and affects older adults.", 0.8
    )
    answer = compose("What is glaucoma?", [GLAUCOMA, other, UNRELATED], max_sentences=4)
    assert [c.id for c in answer.citations] == ["g1", "g3"]


def test_a_list_is_quoted_whole_with_its_lead_in() -> None:
    """'What causes kidney stones?' kept the first of five bullets and cut the list."""
    stones = Evidence(
        "ks",
        "What causes kidney stones?",
        "Kidney stones form when urine holds more crystal-forming substances than it can "
        "dilute.\nCommon causes of kidney stones include:\n- not drinking enough water\n"
        "- a diet high in salt or animal protein\n- obesity\n- some medicines\n"
        "- digestive diseases\nDrinking plenty of water helps prevent kidney stones.",
        1.0,
    )
    answer = compose("What causes kidney stones?", [stones], max_sentences=2)
    (quoted,) = [c.sentences for c in answer.citations]
    assert "Common causes of kidney stones include:" in quoted
    assert quoted[quoted.index("Common causes of kidney stones include:") :][:6] == [
        "Common causes of kidney stones include:",
        "not drinking enough water",
        "a diet high in salt or animal protein",
        "obesity",
        "some medicines",
        "digestive diseases",
    ]
