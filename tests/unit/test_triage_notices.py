"""Urgent notices: one 'what to do now' per category and language, the emergency number as a
setting, and the notice in the answer whatever the answer mode."""

from __future__ import annotations

import pytest

from medkb.answer import notices
from medkb.answer.compose import Answerer
from medkb.answer.redflag_cues import CATEGORIES
from medkb.config import AnswerSettings
from medkb.errors import ConfigError


def test_every_language_has_a_headline_a_crisis_line_and_every_category() -> None:
    for language, table in notices.NOTICES.items():
        missing = {"headline", "crisis", *CATEGORIES} - set(table)
        assert not missing, (language, missing)
        assert "{number}" in table["headline"] and "{number}" in table["crisis"]


def test_each_category_gets_its_own_advice_after_the_headline() -> None:
    texts = {c: notices.compose(c, language="en", number="112") for c in CATEGORIES}
    assert len(set(texts.values())) == len(CATEGORIES)
    assert all(
        text.startswith("URGENT: this may be a medical emergency. Call 112 now")
        for text in texts.values()
    )
    assert "adrenaline auto-injector" in texts["anaphylaxis"]
    assert "20 minutes" in texts["burns"] and "988" in texts["suicide"]


def test_the_emergency_number_is_a_setting() -> None:
    answerer = Answerer(AnswerSettings(emergency_number="000 (Australia)"), embedder="static")
    composed = answerer.answer("my wife is having a seizure for 6 minutes", "x", [])
    assert composed.text.startswith("URGENT: this may be a medical emergency. Call 000 (Australia)")
    assert composed.info.safety is not None and composed.info.safety["category"] == "seizure"
    assert "Time the seizure" in composed.info.safety["notice"]


def test_an_unknown_language_is_refused_at_startup_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="MEDKB_ANSWER__LANGUAGE"):
        Answerer(AnswerSettings(language="xx"), embedder="static")


def test_the_safety_field_names_category_evidence_and_score() -> None:
    answerer = Answerer(AnswerSettings(), embedder="static")
    safety = answerer.answer("my blood sugar reads 35 and i'm confused", "x", []).info.safety
    assert safety is not None and safety["flag"] is True and safety["category"] == "glucose"
    assert safety["score"] >= 1.0 and safety["cue"]
    kinds = {item["kind"] for item in safety["evidence"]}
    assert "number" in kinds and all(
        set(item) == {"kind", "text", "weight"} for item in safety["evidence"]
    )
