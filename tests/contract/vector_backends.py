"""Where each vector backend of the contract suite lives, and how to reopen it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medkb.stores.vector.base import VectorStore

DIM = 16

Opener = Callable[[int], VectorStore]


@dataclass
class Backend:
    """One vector store location; :meth:`open` may be called again to reopen it."""

    name: str
    opener: Opener
    opened: list[VectorStore] = field(default_factory=list)

    def open(self, dimension: int = DIM) -> VectorStore:
        store = self.opener(dimension)
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            store.close()


def local_opener(tmp_path: Path, *, exact_threshold: int = 20_000) -> Opener:
    from medkb.stores.vector.local import LocalVectorStore

    return lambda dimension: LocalVectorStore(
        tmp_path / "vectors", dimension=dimension, exact_threshold=exact_threshold
    )


def milvus_lite_opener(tmp_path: Path) -> Opener:
    from medkb.stores.vector.milvus import MilvusVectorStore

    return lambda dimension: MilvusVectorStore(str(tmp_path / "milvus.db"), dimension=dimension)


def milvus_server_opener(uri: str, collection: str) -> Opener:
    from medkb.stores.vector.milvus import MilvusVectorStore

    return lambda dimension: MilvusVectorStore(uri, dimension=dimension, collection=collection)


def pgvector_opener(url: str, table: str) -> Opener:
    from medkb.stores.vector.pgvector import PgVectorStore

    return lambda dimension: PgVectorStore(url, dimension=dimension, table=table)


def drop_milvus_collection(uri: str, collection: str) -> None:
    from pymilvus import MilvusClient

    client = MilvusClient(uri)
    try:
        client.drop_collection(collection)
    finally:
        client.close()


def drop_pg_table(url: str, table: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
