"""open_vector_store: each MEDKB_VECTOR_URL form opens the right backend, others fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from medkb.errors import ConfigError
from medkb.stores.vector.local import LocalVectorStore
from medkb.stores.vector.registry import open_vector_store


def test_local_lives_in_the_home_directory(tmp_path: Path) -> None:
    store = open_vector_store("local", dimension=8, home=tmp_path)
    try:
        assert isinstance(store, LocalVectorStore)
        assert store.directory == tmp_path / "vectors"
        assert store.dimension == 8
    finally:
        store.close()


def test_local_with_a_path(tmp_path: Path) -> None:
    store = open_vector_store(f"local://{tmp_path}/elsewhere", dimension=8, home=tmp_path / "h")
    try:
        assert isinstance(store, LocalVectorStore)
        assert store.directory == tmp_path / "elsewhere"
    finally:
        store.close()


@pytest.mark.parametrize("form", ["{path}", "milvus://{path}"])
@pytest.mark.milvus
def test_a_db_path_is_milvus_lite(tmp_path: Path, form: str) -> None:
    from medkb.stores.vector.milvus import MilvusVectorStore

    url = form.format(path=tmp_path / "kb.db")
    store = open_vector_store(url, dimension=8, home=tmp_path)
    try:
        assert isinstance(store, MilvusVectorStore)
        assert store.uri == str(tmp_path / "kb.db")
    finally:
        store.close()


@pytest.mark.milvus
@pytest.mark.parametrize("scheme", ["milvus", "http"])
def test_a_milvus_server_url(milvus_server_uri: str, tmp_path: Path, scheme: str) -> None:
    from medkb.stores.vector.milvus import MilvusVectorStore

    address = milvus_server_uri.removeprefix("http://")
    store = open_vector_store(f"{scheme}://{address}", dimension=8, home=tmp_path)
    try:
        assert isinstance(store, MilvusVectorStore)
        assert store.uri == f"http://{address}"
        assert store.count() == 0
    finally:
        store.close()
        _drop_collection(milvus_server_uri)


def _drop_collection(uri: str) -> None:
    from pymilvus import MilvusClient

    from medkb.stores.vector.base import COLLECTION

    client = MilvusClient(uri)
    try:
        client.drop_collection(COLLECTION)
    finally:
        client.close()


@pytest.mark.pgvector
@pytest.mark.parametrize("form", ["pgvector", "pgvector+{url}"])
def test_pgvector_in_the_database_or_its_own_url(
    pgvector_url: str, tmp_path: Path, form: str
) -> None:
    from medkb.stores.vector.pgvector import PgVectorStore

    # Settings hand over the SQLAlchemy form; the store must accept it.
    sqlalchemy_url = pgvector_url.replace("postgresql://", "postgresql+psycopg://")
    store = open_vector_store(
        form.format(url=sqlalchemy_url), dimension=8, home=tmp_path, database_url=sqlalchemy_url
    )
    try:
        assert isinstance(store, PgVectorStore)
        assert store.url == pgvector_url
        assert store.count() == 0
    finally:
        store.close()
        _drop_table(pgvector_url)


def _drop_table(url: str) -> None:
    import psycopg

    from medkb.stores.vector.base import COLLECTION

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {COLLECTION}")


@pytest.mark.parametrize("database_url", [None, "sqlite:////tmp/kb.sqlite3"])
def test_pgvector_needs_a_postgresql_database(tmp_path: Path, database_url: str | None) -> None:
    with pytest.raises(ConfigError, match="MEDKB_DATABASE_URL"):
        open_vector_store("pgvector", dimension=8, home=tmp_path, database_url=database_url)


@pytest.mark.parametrize(
    "url", ["redis://localhost:6379", "faiss", "pgvector+mysql://db/kb", "/tmp/kb.sqlite3", ""]
)
def test_an_unknown_url_lists_the_accepted_forms(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="MEDKB_VECTOR_URL") as caught:
        open_vector_store(url, dimension=8, home=tmp_path)
    assert "pgvector" in str(caught.value)
    assert "local" in str(caught.value)
