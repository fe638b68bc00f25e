"""``llm.check``: whatever the model writes, only given sources stay cited."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from medkb.answer import llm
from medkb.answer.extractive import Evidence

SOURCES = [Evidence(f"p{i}", f"Question {i}?", f"Answer {i}.", 1.0 - i / 10) for i in range(3)]
_SENTENCE = st.builds(
    lambda words, marks: " ".join(words).capitalize() + "".join(f" [{m}]" for m in marks) + ".",
    st.lists(st.sampled_from(["flu", "is", "a", "virus", "rest", "drink", "water"]), min_size=2),
    st.lists(st.integers(min_value=0, max_value=9), max_size=3),
)


@given(st.lists(_SENTENCE, min_size=1, max_size=6))
def test_only_given_numbers_survive_and_every_sentence_is_cited_or_flagged(
    sentences: list[str],
) -> None:
    checked = llm.check(" ".join(sentences), SOURCES)
    left = {int(n) for n in re.findall(r"\[(\d+)\]", checked.answer.text)}
    assert left <= {1, 2, 3}
    assert {c.number for c in checked.answer.citations} == left
    assert all(1 <= n <= 3 for n in {c.number for c in checked.answer.citations})
    assert set(checked.dropped) <= set(range(10)) - {1, 2, 3}
    cited = {s for c in checked.answer.citations for s in c.sentences}
    assert len(cited) + len(checked.uncited) >= 1


def test_comma_lists_and_ids() -> None:
    checked = llm.check("Flu is viral [1, 3]. Rest helps [2].", SOURCES)
    assert [(c.number, c.id) for c in checked.answer.citations] == [(1, "p0"), (3, "p2"), (2, "p1")]
    assert checked.uncited == [] and checked.dropped == []
