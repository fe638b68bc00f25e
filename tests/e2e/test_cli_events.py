"""``medkb events search``: stored interactions by similarity, as a user runs it; bad
values are usage errors (exit 2) that open nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from medkb.app import build
from medkb.cli.main import app
from medkb.config import Settings
from medkb.stream.apply import Applier
from tests.integration.test_behaviour_search import EVENTS, event


@pytest.fixture
def home(tmp_path: Path, embed_cache: Path) -> Path:
    """A home whose knowledge base holds the EVENTS, applied as the worker applies them."""
    home = tmp_path / "home"
    with build(Settings(home=home, embedder="static", cache_dir=embed_cache)) as kb:
        Applier(kb).apply([event(*e) for e in EVENTS])
    return home


def cli(home: Path, cache: Path, *args: str) -> Result:
    env = {"MEDKB_HOME": str(home), "MEDKB_EMBEDDER": "static", "MEDKB_CACHE_DIR": str(cache)}
    unset = {"MEDKB_DATABASE_URL": None, "MEDKB_VECTOR_URL": None, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env={**env, **unset})


def test_search_prints_the_most_similar_events_filtered(home: Path, embed_cache: Path) -> None:
    done = cli(
        home, embed_cache, "events", "search", "purchase · item-42 · cardiology",
        "--user", "bob", "--since", "2026-12-05T07:00:00+00:00", "--top-k", "2", "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    found = json.loads(done.output)["events"]
    assert [e["event_id"] for e in found] == ["e3", "e4"]
    assert found[0]["score"] == pytest.approx(1.0, abs=1e-5)
    assert found[0]["occurred_at"] == "2026-12-05T08:00:00+00:00"
    text = cli(home, embed_cache, "events", "search", "click", "--type", "click")
    assert text.exit_code == 0, text.output
    assert "carol" in text.output and "dermatology" in text.output and "1 event(s)" in text.output
    none = cli(home, embed_cache, "events", "search", "view", "--category", "oncology")
    assert none.exit_code == 0 and "No stored events match" in none.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "not an ISO 8601"),
        (["--until", "2026-13-40"], "not an ISO 8601"),
        (["--since", "2026-12-06", "--until", "2026-12-05"], "must be before"),
        (["--top-k", "0"], "Invalid value"),
        (["--top-k", "-1"], "Invalid value"),
    ],
)
def test_bad_values_are_usage_errors(
    home: Path, embed_cache: Path, args: list[str], message: str
) -> None:
    done = cli(home, embed_cache, "events", "search", "view", *args)
    assert done.exit_code == 2, done.output
    assert message in done.output


def test_a_home_without_a_knowledge_base_is_reported_not_created(
    tmp_path: Path, embed_cache: Path
) -> None:
    empty = tmp_path / "nothing"
    done = cli(empty, embed_cache, "events", "search", "view")
    assert done.exit_code != 0 and "no knowledge base" in done.output
    assert not empty.exists()
