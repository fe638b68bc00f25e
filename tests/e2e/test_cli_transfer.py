"""``medkb export`` and ``medkb import`` as a user runs them: files, JSON summaries, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from medkb.errors import InputError
from tests.e2e.test_cli import medkb, write_faq


def test_export_then_import_into_a_new_home(tmp_path: Path, embed_cache: Path) -> None:
    home, copy = tmp_path / "home", tmp_path / "copy"
    done = medkb(home, embed_cache, "ingest", str(write_faq(tmp_path / "asthma.md")), "--json")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "kb.jsonl"
    exported = medkb(
        home,
        embed_cache,
        "export",
        "--format",
        "jsonl",
        "-o",
        str(out),
        "--include-embeddings",
        "--json",
    )
    assert exported.returncode == 0, exported.stderr
    summary = json.loads(exported.stdout)
    assert summary["pairs"] == 2 and summary["bytes"] == out.stat().st_size > 0
    assert summary["include_embeddings"] is True and summary["seconds"] >= 0

    imported = medkb(copy, embed_cache, "import", str(out), "--json")
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert (report["created"], report["reembedded"]) == (2, 0)
    assert medkb(copy, embed_cache, "sync", "verify").returncode == 0
    again = tmp_path / "again.jsonl"
    text = medkb(
        copy, embed_cache, "export", "--format", "jsonl", "-o", str(again), "--include-embeddings"
    )
    assert text.returncode == 0 and "Exported 2 pair(s)" in text.stdout, text.stderr
    assert again.read_text() == out.read_text()

    asked = medkb(copy, embed_cache, "query", "how is asthma treated", "--json", "--top-k", "1")
    assert "inhaled" in json.loads(asked.stdout)["hits"][0]["response"]


def test_bad_inputs_exit_with_the_input_error_code(tmp_path: Path, embed_cache: Path) -> None:
    home = tmp_path / "home"
    unknown = medkb(home, embed_cache, "export", "--format", "xml", "-o", str(tmp_path / "x"))
    assert unknown.returncode == InputError.exit_code and "Unknown export format" in unknown.stderr
    bad_filter = medkb(
        home,
        embed_cache,
        "export",
        "--format",
        "csv",
        "-o",
        str(tmp_path / "x.csv"),
        "--filter",
        "tags=a",
    )
    assert (
        bad_filter.returncode == InputError.exit_code
        and "Cannot filter on tags" in bad_filter.stderr
    )
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "question": "q?", "response": "r"}\n{"id": \n')
    failed = medkb(home, embed_cache, "import", str(broken))
    assert failed.returncode == InputError.exit_code
    assert "broken.jsonl, line 2: not valid JSON" in failed.stderr
    stats = json.loads(medkb(home, embed_cache, "stats", "--json").stdout)
    assert stats["relational_pairs"] == 0
