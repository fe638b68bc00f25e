"""Named collections through the registry (what ``medkb reembed`` relies on): a second
collection of the same store URL is independent of the first, may have another dimension,
and ``drop_vector_collection`` removes it without touching the other."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from medkb.errors import ConfigError
from medkb.stores.vector.base import COLLECTION
from medkb.stores.vector.registry import (
    drop_vector_collection,
    local_directory,
    open_vector_store,
)
from tests.contract.test_vector_store import random_records
from tests.contract.vector_backends import drop_pg_table

URLS = [
    pytest.param("local", id="local"),
    pytest.param("milvus-lite", id="milvus-lite", marks=pytest.mark.milvus),
    pytest.param("pgvector", id="pgvector", marks=pytest.mark.pgvector),
]


@pytest.fixture(params=URLS)
def vector_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "local":
        yield "local"
    elif request.param == "milvus-lite":
        yield str(tmp_path / "milvus.db")
    else:
        url = request.getfixturevalue("pgvector_url")
        yield f"pgvector+{url}"


def test_collections_are_independent_and_drop_removes_only_one(
    vector_url: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    first, second = f"kb_{suffix}", f"kb_{suffix}_g2"
    home = tmp_path / "home"
    old = open_vector_store(vector_url, dimension=8, home=home, collection=first)
    new = open_vector_store(vector_url, dimension=12, home=home, collection=second)
    try:
        old.upsert(random_records(3, 8, prefix="old"))
        new.upsert(random_records(2, 12, prefix="new"))
        assert sorted(old.ids()) == ["old000", "old001", "old002"]
        assert sorted(new.ids()) == ["new000", "new001"]
    finally:
        old.close()
        new.close()
    try:
        drop_vector_collection(vector_url, dimension=12, home=home, collection=second)
        reopened = open_vector_store(vector_url, dimension=12, home=home, collection=second)
        kept = open_vector_store(vector_url, dimension=8, home=home, collection=first)
        try:
            assert (reopened.count(), kept.count()) == (0, 3)
        finally:
            reopened.close()
            kept.close()
    finally:
        if vector_url.startswith("pgvector+"):
            for table in (first, second):
                drop_pg_table(vector_url.removeprefix("pgvector+"), table)


def test_local_collections_live_in_sibling_directories(tmp_path: Path) -> None:
    assert local_directory("local", home=tmp_path) == tmp_path / "vectors"
    assert local_directory("local", home=tmp_path, collection=f"{COLLECTION}_g2") == (
        tmp_path / f"vectors.{COLLECTION}_g2"
    )
    store = open_vector_store("local", dimension=4, home=tmp_path, collection="kb_g3")
    store.upsert(random_records(1, 4))
    store.close()
    drop_vector_collection("local", dimension=4, home=tmp_path, collection="kb_g3")
    assert not (tmp_path / "vectors.kb_g3").exists()


def test_unusable_collection_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="collection name"):
        open_vector_store("local", dimension=4, home=tmp_path, collection="Bad-Name;")
