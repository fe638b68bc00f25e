"""Red-flag detection: the labelled list, and the rules it rests on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medkb.answer.redflags import detect, normalise

LIST = Path(__file__).parent.parent / "data" / "red_flags.jsonl"


def _rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in LIST.read_text().splitlines() if line.strip()]


def test_the_labelled_list_is_big_balanced_and_well_formed() -> None:
    rows = _rows()
    labels = [row["label"] for row in rows]
    assert labels.count("emergency") >= 100 and labels.count("not_emergency") >= 100
    assert {row["split"] for row in rows} == {"dev", "heldout"}
    assert all(row["query"] and row["category"] and row["note"] for row in rows)
    assert len({row["query"] for row in rows}) == len(rows)


def test_emergency_recall_on_the_whole_list_is_at_least_95_percent() -> None:
    rows = _rows()
    emergencies = [row for row in rows if row["label"] == "emergency"]
    missed = [row["query"] for row in emergencies if detect(row["query"]) is None]
    assert 1 - len(missed) / len(emergencies) >= 0.95, missed


def test_precision_on_the_whole_list_is_at_least_90_percent() -> None:
    flagged = [row for row in _rows() if detect(row["query"]) is not None]
    wrong = [row["query"] for row in flagged if row["label"] != "emergency"]
    assert 1 - len(wrong) / len(flagged) >= 0.90, wrong


@pytest.mark.parametrize(
    ("query", "category"),
    [
        ("I think I'm having a stroke", "stroke"),
        ("my dad is clutching his chest and sweating and says his jaw hurts", "cardiac"),
        ("Hi doctor, sorry to bother you. I want to kill myself. Thanks", "suicide"),
        ("what's the most painless way to die", "suicide"),
        ("cant breath properly", "breathing"),
        ("my son is having a siezure right now", "seizure"),
        ("took a whole bottle of tylenol", "poisoning"),
    ],
)
def test_emergencies_are_flagged_with_their_category(query: str, category: str) -> None:
    flag = detect(query)
    assert flag is not None and flag.category == category and flag.cue


@pytest.mark.parametrize(
    "query",
    [
        "no chest pain or shortness of breath, just tired",  # negated
        "I had a stroke 5 years ago, what should I eat?",  # history
        "my dad had a heart attack last year, is walking good for him?",  # third person, past
        "chest pain after lifting weights last week, what muscle is it?",  # past, benign
        "how to prevent heart attacks",  # informational
        "overdose limits of paracetamol",  # informational
        "what should I do if someone has a seizure?",  # hypothetical
        "this headache is killing me",  # idiom
    ],
)
def test_look_alikes_are_not_flagged(query: str) -> None:
    assert detect(query) is None


def test_normalise_fixes_apostrophes_and_typos() -> None:
    assert normalise("I  CANT breath, my chest pian is bad, I’m scared") == (
        "i can't breath, my chest pain is bad, i'm scared"
    )
