"""The ``medkb`` command line, run as a user would: a real subprocess on a real home dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medkb.cli.main import app


def medkb(home: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MEDKB_HOME": str(home),
        "MEDKB_EMBEDDER": "static",
        "MEDKB_CACHE_DIR": str(cache),
        "COLUMNS": "200",
    }
    env.pop("MEDKB_DATABASE_URL", None)
    env.pop("MEDKB_VECTOR_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "medkb.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def write_faq(path: Path) -> Path:
    path.write_text(
        "# Asthma\n\n## What is asthma?\n\nAsthma is a long-term disease of the airways that "
        "makes breathing difficult at times.\n\n## How is asthma treated?\n\nAsthma is "
        "treated with inhaled corticosteroids to prevent attacks and quick-relief inhalers "
        "during an attack.\n"
    )
    return path


def test_ingest_query_get_update_delete_round_trip(
    home: Path, embed_cache: Path, tmp_path: Path
) -> None:
    faq = write_faq(tmp_path / "asthma.md")
    done = medkb(home, embed_cache, "ingest", str(faq), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] >= 2

    asked = medkb(home, embed_cache, "query", "how do you treat asthma", "--json", "--top-k", "3")
    assert asked.returncode == 0, asked.stderr
    result = json.loads(asked.stdout)
    assert set(result) >= {"answer", "hits", "graph", "query_log_id", "timings_ms"}
    top = result["hits"][0]
    assert "treated" in top["response"]
    assert top["sources"][0]["document"] == "asthma.md"
    assert top["sources"][0]["object_key"].startswith("raw/")

    got = medkb(home, embed_cache, "get", top["id"], "--json")
    assert json.loads(got.stdout)["id"] == top["id"]
    assert (
        medkb(home, embed_cache, "update", top["id"], "--set", "category=Respiratory").returncode
        == 0
    )
    assert (
        json.loads(medkb(home, embed_cache, "get", top["id"], "--json").stdout)["metadata"][
            "category"
        ]
        == "Respiratory"
    )
    rated = medkb(home, embed_cache, "feedback", str(result["query_log_id"]), "--rating", "4")
    assert rated.returncode == 0, rated.stderr
    assert medkb(home, embed_cache, "delete", top["id"]).returncode == 0
    stats = json.loads(medkb(home, embed_cache, "stats", "--json").stdout)
    assert (
        stats["relational_pairs"] == stats["vector_pairs"] == json.loads(done.stdout)["created"] - 1
    )
    assert stats["avg_rating"] == 4.0


def test_errors_exit_non_zero_with_a_message(home: Path, embed_cache: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "broken.pdf"
    corrupt.write_bytes(b"%PDF-1.4 truncated")
    failed = medkb(home, embed_cache, "ingest", str(corrupt))
    assert failed.returncode == 65 and "broken.pdf" in failed.stdout + failed.stderr
    missing = medkb(home, embed_cache, "get", "no-such-id")
    assert missing.returncode == 66 and "No Q&A pair 'no-such-id'" in missing.stderr
    bad_filter = medkb(home, embed_cache, "query", "x", "--filter", "nokey")
    assert bad_filter.returncode == 2 and "key=value" in bad_filter.stderr
    rating = medkb(home, embed_cache, "feedback", "1", "--rating", "9")
    assert rating.returncode == 2 and "less than or equal to 5" in rating.stderr


def test_every_command_has_help_with_an_example() -> None:
    import typer.main

    group = typer.main.get_group(app)
    commands = dict(group.commands)
    commands.update({f"sync {k}": v for k, v in group.commands["sync"].commands.items()})  # type: ignore[attr-defined]
    del commands["sync"]
    for name, command in commands.items():
        assert command.help and "Example: medkb" in command.help, name
