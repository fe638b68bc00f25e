"""The core flows on the production backends: Milvus Lite and PostgreSQL + pgvector.

The same writes and queries as test_kb.py, checking that both stores agree afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from medkb.app import KnowledgeBase, build
from medkb.config import Settings
from tests.integration.test_kb import CARDIO, OTHER, store_matches_relational


@pytest.fixture
def pgvector_database(pgvector_url: str) -> Iterator[str]:
    """A fresh database on the pgvector PostgreSQL, dropped afterwards."""
    admin = sa.create_engine(
        pgvector_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    name = f"kb_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield pgvector_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(
    params=[
        pytest.param("milvus-lite", marks=pytest.mark.milvus),
        pytest.param("pgvector", marks=pytest.mark.pgvector),
    ]
)
def backend_kb(
    request: pytest.FixtureRequest, tmp_path: Path, embed_cache: Path
) -> Iterator[KnowledgeBase]:
    """A knowledge base on each production vector backend."""
    settings = Settings(home=tmp_path / "home", embedder="static", cache_dir=embed_cache)
    if request.param == "milvus-lite":
        settings.vector_url = str(tmp_path / "milvus.db")
    else:
        settings.database_url = request.getfixturevalue("pgvector_database")
        settings.vector_url = "pgvector"
    with build(settings) as kb:
        yield kb


def test_write_query_update_delete_keep_both_stores_equal(backend_kb: KnowledgeBase) -> None:
    kb = backend_kb
    kb.settings.graph.similar_threshold = 0.0
    kb.add(CARDIO + OTHER)
    store_matches_relational(kb)
    result = kb.query("how is high blood pressure treated", filters={"category": ["Cardiology"]})
    assert result.hits[0].pair.id == "htn-treatment"
    assert {hit.pair.metadata.category for hit in result.hits} == {"Cardiology"}
    kb.update("htn-causes", response="Age, genes, salt and excess weight raise blood pressure.")
    kb.delete("htn-symptoms")
    store_matches_relational(kb)
    assert all("htn-symptoms" not in r.related_nodes for r in kb.store.fetch(list(kb.store.ids())))
