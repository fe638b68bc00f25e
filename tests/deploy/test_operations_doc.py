"""docs/operations.md quotes only measured numbers, and names files and commands that exist."""

from __future__ import annotations

import re

from tests.deploy.checks import ROOT, command_problems, unknown_metrics

OPERATIONS = ROOT / "docs" / "operations.md"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
MEASURED = re.compile(r"<!-- measured[^>]*-->(.*?)<!-- /measured -->", re.S)
NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


def measured_numbers(text: str) -> set[str]:
    """The numbers inside ``<!-- measured -->`` blocks."""
    return {n for block in MEASURED.findall(text) for n in NUMBER.findall(block)}


def test_sizing_and_rto_quote_only_numbers_from_the_benchmarks() -> None:
    numbers = measured_numbers(OPERATIONS.read_text())
    assert len(numbers) > 20
    benchmarks = BENCHMARKS.read_text()
    missing = {
        n for n in numbers if not re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", benchmarks)
    }
    assert missing == set()


def test_number_check_catches_an_invented_figure() -> None:
    numbers = measured_numbers("<!-- measured -->p95 25.49 ms, 31337 queries/s<!-- /measured -->")
    assert numbers == {"25.49", "31337"}
    assert "31337" not in BENCHMARKS.read_text()


def test_paths_in_the_guide_exist() -> None:
    text = OPERATIONS.read_text()
    paths = set(re.findall(r"`((?:deploy|docs|tests|\.github)/[\w./-]+)`", text))
    assert len(paths) > 5
    assert {p for p in paths if not (ROOT / p.rstrip("/")).exists()} == set()


def test_medkb_commands_in_the_guide_exist() -> None:
    text = OPERATIONS.read_text()
    spans = re.findall(r"`medkb ([^`]+)`", text)
    blocks = "\n".join(re.findall(r"```bash\n(.*?)```", text, re.S))
    spans += re.findall(r"^medkb (.+)$", blocks, re.M)
    commands = [line.split() for line in spans]
    assert len(commands) > 10
    problems = [p for argv in commands for p in command_problems(_plain(argv))]
    assert problems == []


def test_metrics_in_the_guide_are_exported() -> None:
    text = OPERATIONS.read_text()
    assert "medkb_dead_letters" in text and "medkb_circuit_state" in text
    assert unknown_metrics([text]) == set()


def _plain(argv: list[str]) -> list[str]:
    """Drop placeholders and shell punctuation after the command's own words."""
    keep = []
    for word in argv:
        if word.startswith(("(", "'", '"', "$", "#", "\\", "|", "&", ")")) or word.endswith(")"):
            break
        keep.append(word.rstrip(";,."))
    return keep
