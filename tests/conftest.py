"""Fixtures shared by every test directory.

Knowledge bases in tests use the fast ``static`` embedder; its distilled model is built
once per machine in ``$MEDKB_TEST_CACHE`` (or once per session in a temp dir). Server
fixtures (a Milvus server, a pgvector PostgreSQL, a Kafka broker) live in
``tests/fixtures_servers.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from tests.embedder_fixtures import static_embedder
from tests.fixtures_servers import kafka_url, milvus_server_uri, pgvector_db, pgvector_url
from tests.services import fresh_postgres_database

__all__ = ["kafka_url", "milvus_server_uri", "pgvector_db", "pgvector_url", "static_embedder"]

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: Small samples of the shared data sets that the tests need, shipped in the repository so
#: that a clone anywhere runs the whole suite (tests/data/README.md: sources and licences).
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def embed_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the static embedder's distilled model lives for this test session."""
    configured = os.environ.get("MEDKB_TEST_CACHE")
    if configured:
        Path(configured).mkdir(parents=True, exist_ok=True)
        return Path(configured)
    return tmp_path_factory.mktemp("embed-cache")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty database on the machine's PostgreSQL, dropped after the test."""
    yield from fresh_postgres_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each relational backend in turn: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kb.db'}"
    else:
        yield from fresh_postgres_database()


@pytest.fixture
def settings(tmp_path: Path, embed_cache: Path, database_url: str) -> Settings:
    """Settings of a fresh knowledge base on the static embedder and the local index."""
    return Settings(
        home=tmp_path / "home",
        embedder="static",
        cache_dir=embed_cache,
        database_url=database_url,
    )


@pytest.fixture
def kb(settings: Settings) -> Iterator[KnowledgeBase]:
    """An open, empty knowledge base."""
    with build(settings) as opened:
        yield opened
