"""``medkb query`` shows the urgent notice, abstention, disclaimer and warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medkb.config import AnswerSettings
from tests.e2e.test_cli import write_faq

DISCLAIMER = AnswerSettings().disclaimer


def medkb(home: Path, cache: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    unset = ("MEDKB_DATABASE_URL", "MEDKB_VECTOR_URL", "MEDKB_LLM_URL")
    environ = {name: value for name, value in os.environ.items() if name not in unset}
    environ.update(
        MEDKB_HOME=str(home), MEDKB_EMBEDDER="static", MEDKB_CACHE_DIR=str(cache), COLUMNS="200"
    )
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "medkb.cli", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def home(tmp_path: Path, embed_cache: Path) -> Path:
    home = tmp_path / "home"
    done = medkb(home, embed_cache, "ingest", str(write_faq(tmp_path / "asthma.md")))
    assert done.returncode == 0, done.stderr
    return home


def test_an_emergency_gets_the_urgent_notice_first(home: Path, embed_cache: Path) -> None:
    shown = medkb(home, embed_cache, "query", "my son is having an asthma attack and can't breathe")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.index("URGENT") < shown.stdout.index("Asthma")
    assert "Emergency signs detected (breathing" in shown.stdout
    asked = medkb(home, embed_cache, "query", "i can't breathe", "--json")
    result = json.loads(asked.stdout)
    assert result["answer"].startswith("URGENT: this may be a medical emergency. Call your")
    assert result["safety"]["category"] == "breathing" and result["safety"]["cue"]
    assert result["safety"]["evidence"][0]["kind"] == "cue"
    assert result["answer"].startswith(result["safety"]["notice"])


def test_a_question_the_kb_cannot_answer_abstains(home: Path, embed_cache: Path) -> None:
    asked = medkb(home, embed_cache, "query", "how do I change a flat tyre on my bicycle", "--json")
    result = json.loads(asked.stdout)
    assert result["abstained"] is True and result["answer_mode"] == "abstained"
    assert result["answer"].startswith("I could not find this in the knowledge base.")
    assert result["citations"] == [] and result["nearest_topics"]
    assert result["signals"]["cosine"] is not None


def test_answers_are_cited_and_carry_the_configurable_disclaimer(
    home: Path, embed_cache: Path
) -> None:
    result = json.loads(medkb(home, embed_cache, "query", "how is asthma treated", "--json").stdout)
    assert result["abstained"] is False and result["citations"]
    assert result["answer"].endswith(DISCLAIMER) and result["disclaimer"] == DISCLAIMER
    shown = medkb(home, embed_cache, "query", "how is asthma treated")
    assert "not medical advice" in shown.stdout
    plain = medkb(
        home, embed_cache, "query", "how is asthma treated", "--json", MEDKB_ANSWER__DISCLAIMER=""
    )
    result = json.loads(plain.stdout)
    assert result["disclaimer"] == "" and "medical advice" not in result["answer"]


def test_an_unreachable_llm_falls_back_with_a_warning(home: Path, embed_cache: Path) -> None:
    shown = medkb(
        home,
        embed_cache,
        "query",
        "how is asthma treated",
        MEDKB_LLM_URL="http://127.0.0.1:9/v1",
        MEDKB_LLM_MODEL="none",
        MEDKB_LLM_TIMEOUT_S="2",
    )
    assert shown.returncode == 0, shown.stderr
    assert "warning: LLM answer failed, extractive answer given" in shown.stdout
