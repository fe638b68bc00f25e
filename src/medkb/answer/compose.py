"""The answer step of the query flow: safety notice, body, disclaimer.

:class:`Answerer` turns a query and its evidence into the text a user sees:

1. **Triage** (:mod:`medkb.answer.triage`) of the raw message: an emergency gets the
   urgent notice of its category first (:mod:`medkb.answer.notices`; plus the crisis line
   for suicide and self-harm), whatever the retrieval found, and never from the LLM.
2. **Abstention** (:mod:`medkb.answer.abstain`): weak evidence gives "I could not find
   this in the knowledge base." and the nearest topics, not unrelated quotes.
3. **Body**: the LLM's cited answer when ``answer.llm.url`` is set and the endpoint answers
   (:mod:`medkb.answer.llm`), else the extractive answer, every sentence of which carries
   a ``[n]`` citation (:mod:`medkb.answer.extractive`). An LLM failure falls back to the
   extractive answer with a warning.
4. **Disclaimer**, when configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from medkb.answer import abstain, learned, llm, notices, triage
from medkb.answer.extractive import Answer, Evidence, compose
from medkb.config import AnswerSettings
from medkb.embed.base import Embedder
from medkb.errors import LLMError
from medkb.resilience.breaker import CircuitBreaker, CircuitOpen


@dataclass
class AnswerInfo:
    """What, besides its text, a user and a caller should know about an answer."""

    mode: str = "extractive"  # extractive | llm | abstained
    safety: dict[str, Any] | None = None
    abstained: bool = False
    signals: dict[str, float | None] = field(default_factory=dict)
    nearest_topics: list[dict[str, str]] = field(default_factory=list)
    disclaimer: str = ""
    warnings: list[str] = field(default_factory=list)
    uncited_sentences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer_mode": self.mode,
            "safety": self.safety,
            "abstained": self.abstained,
            "signals": self.signals,
            "nearest_topics": self.nearest_topics,
            "disclaimer": self.disclaimer,
            "warnings": self.warnings,
            "uncited_sentences": self.uncited_sentences,
        }


@dataclass
class Composed:
    """The full answer text, its citations and the :class:`AnswerInfo`."""

    text: str
    citations: list[dict[str, Any]]
    info: AnswerInfo


class Answerer:
    """Composes answers under one :class:`~medkb.config.AnswerSettings`.

    Args:
        settings: The answer settings.
        embedder: The embedder's settings name ('static', 'minilm'), which picks the
            abstention and semantic triage thresholds; an unknown name gets no cosine check,
            overlap 0 and no semantic triage.
        encoder: The embedder itself, for the semantic triage step; ``None`` skips it.
        breaker: The LLM endpoint's circuit breaker (``medkb.app.guard_dependencies``):
            while it is open the endpoint is not called and the extractive answer is given,
            with a warning saying when it is tried again.

    Raises:
        ConfigError: ``settings.language`` has no notices.
    """

    def __init__(
        self,
        settings: AnswerSettings,
        *,
        embedder: str,
        encoder: Embedder | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.settings, self.breaker = settings, breaker
        self.min_cosine = settings.min_cosine.get(embedder, -1.0)
        self.min_overlap = settings.min_overlap.get(embedder, 0.0)
        notices.texts(settings.language)  # fail at startup, not at the first emergency
        limits = settings.triage_semantic.get(embedder)
        self.match = (
            triage.SemanticMatch(encoder, limits["flag"], limits["boost"], limits["margin"])
            if encoder is not None and limits
            else None
        )
        self.model = learned.shipped_model() if settings.triage_model else None

    def answer(
        self,
        raw: str,
        cleaned: str,
        evidence: Sequence[Evidence],
        *,
        vector: npt.NDArray[np.float32] | None = None,
    ) -> Composed:
        """Answer ``cleaned`` (the normalised ``raw`` message) from ``evidence``.

        ``vector`` is ``cleaned``'s embedding when the search step computed it (the semantic
        triage step reuses it instead of embedding again).
        """
        info = AnswerInfo(disclaimer=self.settings.disclaimer)
        flag = self._triage(raw, cleaned, vector) if self.settings.red_flags else None
        found = abstain.signals(cleaned, evidence)
        info.signals = found.to_dict()
        if self.settings.abstain and (not evidence or self._weak(found)):
            body, citations = self._abstain(evidence, info), []
        else:
            answer = self._body(cleaned, evidence, info)
            body, citations = answer.text, _citations(answer)
        if flag is not None:
            info.safety = {"flag": True, **flag.to_dict(), "notice": self._notice(flag)}
        parts = [info.safety["notice"] if info.safety else "", body, info.disclaimer]
        return Composed("\n\n".join(p for p in parts if p), citations, info)

    def _weak(self, found: abstain.Signals) -> bool:
        return abstain.weak(found, min_cosine=self.min_cosine, min_overlap=self.min_overlap)

    def _abstain(self, evidence: Sequence[Evidence], info: AnswerInfo) -> str:
        info.mode, info.abstained = "abstained", True
        info.nearest_topics = abstain.nearest_topics(evidence, self.settings.nearest_topics)
        return abstain.not_found_text(info.nearest_topics)

    def _body(self, cleaned: str, evidence: Sequence[Evidence], info: AnswerInfo) -> Answer:
        if self.settings.llm.url and evidence:
            try:
                return self._llm(cleaned, evidence, info)
            except CircuitOpen as exc:
                info.warnings.append(
                    "LLM endpoint not called: it failed repeatedly, so its circuit is open "
                    f"for {exc.retry_after_s:.0f} s more; extractive answer given."
                )
            except LLMError as exc:
                info.warnings.append(f"LLM answer failed, extractive answer given: {exc}")
        return compose(
            cleaned,
            evidence,
            max_sentences=self.settings.max_sentences,
            max_sources=self.settings.max_sources,
        )

    def _llm(self, cleaned: str, evidence: Sequence[Evidence], info: AnswerInfo) -> Answer:
        given = sorted(evidence, key=lambda item: -item.score)[: self.settings.llm.sources]
        chat = llm.messages(cleaned, given)
        if self.breaker is None:
            reply = llm.complete(self.settings.llm, chat)
        else:
            reply = self.breaker.call(lambda: llm.complete(self.settings.llm, chat))
        checked = llm.check(reply, given)
        info.mode, info.uncited_sentences = "llm", checked.uncited
        if checked.dropped:
            numbers = ", ".join(f"[{n}]" for n in checked.dropped)
            info.warnings.append(
                f"The LLM cited {numbers}, which no source has ({len(given)} were given); "
                "those citations were removed."
            )
        if checked.uncited:
            info.warnings.append(
                f"{len(checked.uncited)} sentence(s) of the LLM answer cite no source."
            )
        return checked.answer

    def _triage(
        self, raw: str, cleaned: str, vector: npt.NDArray[np.float32] | None
    ) -> triage.Triage | None:
        return triage.assess(
            raw, cleaned=cleaned, match=self.match, vector=vector, model=self.model
        )

    def _notice(self, flag: triage.Triage) -> str:
        return notices.compose(
            flag.category,
            language=self.settings.language,
            number=self.settings.emergency_number,
            headline=self.settings.urgent_notice,
            crisis=self.settings.crisis_notice,
        )


def _citations(answer: Answer) -> list[dict[str, Any]]:
    return [
        {"number": c.number, "id": c.id, "source": c.source, "sentences": c.sentences}
        for c in answer.citations
    ]
