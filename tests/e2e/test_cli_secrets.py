"""A password in MEDKB_DATABASE_URL, MEDKB_VECTOR_URL or --to never reaches the terminal,
a report or a backup manifest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.test_cli import write_faq
from tests.e2e.test_cli_errors import SECRET, assert_no_traceback, cli
from tests.services import fresh_postgres_database


def with_password(url: str) -> str:
    """``url`` with a password added: the PostgreSQL service trusts local connections, so
    it is accepted and ignored, and the commands succeed with it in the URL."""
    parsed = sa.make_url(url).set(drivername="postgresql", password=SECRET)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture
def secret_pg_url() -> Iterator[str]:
    for url in fresh_postgres_database():
        yield with_password(url)


@pytest.mark.parametrize(
    ("env", "code"),
    [
        ({"MEDKB_DATABASE_URL": f"mysql://medkb:{SECRET}@127.0.0.1/kb"}, 78),
        ({"MEDKB_VECTOR_URL": f"pgvector+mysql://medkb:{SECRET}@127.0.0.1/kb"}, 78),
        ({"MEDKB_VECTOR_URL": f"redis://medkb:{SECRET}@127.0.0.1/0"}, 78),
    ],
    ids=["database-url", "pgvector-url", "unknown-vector-url"],
)
def test_a_refused_url_is_shown_without_its_password(
    tmp_path: Path, embed_cache: Path, env: dict[str, str], code: int
) -> None:
    done = cli(tmp_path / "home", embed_cache, "sync", "status", env=env)
    assert done.returncode == code, done.stderr
    assert_no_traceback(done)
    assert SECRET not in done.stdout + done.stderr
    assert ":***@127.0.0.1" in done.stderr


@pytest.mark.postgres
def test_stats_ingest_and_backup_on_postgresql_never_show_the_password(
    tmp_path: Path, embed_cache: Path, secret_pg_url: str
) -> None:
    home, env = tmp_path / "home", {"MEDKB_DATABASE_URL": secret_pg_url}
    ingested = cli(home, embed_cache, "ingest", str(write_faq(tmp_path / "asthma.md")), env=env)
    assert ingested.returncode == 0, ingested.stderr
    runs = [
        ingested,
        cli(home, embed_cache, "stats", env=env),
        cli(home, embed_cache, "stats", "--json", env=env),
        cli(home, embed_cache, "sync", "status", env=env),
        cli(home, embed_cache, "backup", "--output", str(tmp_path / "backups"), env=env),
    ]
    for done in runs:
        assert done.returncode == 0, done.stderr
        assert SECRET not in done.stdout + done.stderr
    manifests = list((tmp_path / "backups").glob("*/manifest.json"))
    assert len(manifests) == 1
    for path in (tmp_path / "backups").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl"):
            assert SECRET not in path.read_text(errors="replace"), path


@pytest.mark.postgres
def test_migrate_reports_the_settings_to_use_with_the_password_masked(
    tmp_path: Path, embed_cache: Path, secret_pg_url: str
) -> None:
    home = tmp_path / "home"
    assert cli(home, embed_cache, "ingest", str(write_faq(tmp_path / "asthma.md"))).returncode == 0

    done = cli(home, embed_cache, "migrate", "--to", secret_pg_url, "--json")

    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["settings"]["MEDKB_DATABASE_URL"].startswith("postgresql://postgres:***@")
    again = cli(home, embed_cache, "migrate", "--to", secret_pg_url)
    assert again.returncode == 0, again.stderr
    assert SECRET not in again.stdout + again.stderr
    assert "*** stands for the password you gave" in again.stdout
