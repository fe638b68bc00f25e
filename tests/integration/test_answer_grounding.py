"""Through the real query path, every sentence of an extractive answer is cited and quoted
verbatim from the pair it cites: no sentence comes from nowhere."""

from __future__ import annotations

import re

from medkb.app import KnowledgeBase
from medkb.models import QAPair

PAIRS = [
    QAPair(
        id="asthma-treat",
        question="How is asthma treated?",
        response="Asthma is treated with inhaled corticosteroids. Quick-relief inhalers open "
        "the airways during an attack. Avoiding triggers such as smoke also helps.",
    ),
    QAPair(
        id="asthma-what",
        question="What is asthma?",
        response="Asthma is a chronic disease of the airways. It causes wheezing and "
        "shortness of breath.",
    ),
    QAPair(
        id="flu-what",
        question="What is the flu?",
        response="Influenza is a contagious respiratory illness caused by influenza viruses. "
        "Most people recover in less than two weeks. A yearly vaccine lowers the risk.",
    ),
]
_CITED = re.compile(r"(.+?) \[(\d+)\](?: |$)")


def test_every_answer_sentence_is_quoted_from_the_pair_it_cites(kb: KnowledgeBase) -> None:
    kb.add(PAIRS)
    responses = {pair.id: pair.response for pair in PAIRS}
    for question in ("how is asthma treated", "what is the flu", "asthma wheezing inhaler"):
        result = kb.query(question, log=False)
        assert not result.info.abstained and result.citations, question
        body = result.answer.removesuffix(result.info.disclaimer).strip()
        pieces = _CITED.findall(body)
        assert "".join(f"{s} [{n}] " for s, n in pieces).strip() == body  # nothing uncited
        cited = {c["number"]: c["id"] for c in result.citations}
        for sentence, number in pieces:
            assert sentence in responses[cited[int(number)]], (question, sentence)
