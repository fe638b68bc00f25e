"""Backends for the contract suites: each test gets a fresh, empty store of every kind."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from medkb.stores.vector.base import VectorStore
from tests.contract.vector_backends import (
    Backend,
    drop_milvus_collection,
    drop_pg_table,
    local_opener,
    milvus_lite_opener,
    milvus_server_opener,
    pgvector_opener,
)

BACKENDS = [
    pytest.param("local-flat", id="local-flat"),
    pytest.param("local-hnsw", id="local-hnsw"),
    pytest.param("milvus-lite", id="milvus-lite", marks=pytest.mark.milvus),
    pytest.param("milvus-server", id="milvus-server", marks=pytest.mark.milvus),
    pytest.param("pgvector", id="pgvector", marks=pytest.mark.pgvector),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh location for every backend; closes what the test opened, then cleans up."""
    name: str = request.param
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    if name == "local-flat":
        opener = local_opener(tmp_path)
    elif name == "local-hnsw":  # a tiny threshold forces HNSW and its fallbacks
        opener = local_opener(tmp_path, exact_threshold=8)
    elif name == "milvus-lite":
        opener = milvus_lite_opener(tmp_path)
    elif name == "milvus-server":
        uri, collection = request.getfixturevalue("milvus_server_uri"), _unique("kb")
        opener = milvus_server_opener(uri, collection)
        cleanup = lambda: drop_milvus_collection(uri, collection)  # noqa: E731
    else:
        url, table = request.getfixturevalue("pgvector_url"), _unique("kb")
        opener = pgvector_opener(url, table)
        cleanup = lambda: drop_pg_table(url, table)  # noqa: E731
    chosen = Backend(name, opener)
    yield chosen
    chosen.close_all()
    cleanup()


@pytest.fixture
def store(backend: Backend) -> VectorStore:
    """An empty store of dimension :data:`DIM`."""
    return backend.open()


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
