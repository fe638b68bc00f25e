"""Pick and open a vector store backend from ``MEDKB_VECTOR_URL``.

==============================================  ==========================================
URL                                             backend
==============================================  ==========================================
``local``                                       :class:`LocalVectorStore` in ``home/vectors``
``local:///path/to/dir``                        :class:`LocalVectorStore` in that directory
``/path/kb.db``, ``milvus:///path/kb.db``       :class:`MilvusVectorStore`, Milvus Lite file
``milvus://host:port``, ``http(s)://host:port``  :class:`MilvusVectorStore`, Milvus server
``pgvector``                                    :class:`PgVectorStore` in MEDKB_DATABASE_URL
``pgvector+postgresql://user@host:port/db``     :class:`PgVectorStore` in that database
==============================================  ==========================================

Each URL may hold several collections: ``collection`` names one (default
:data:`~medkb.stores.vector.base.COLLECTION`). Milvus uses it as the collection name,
pgvector as the table name, ``local`` as a sibling directory ``<dir>.<collection>``.
``medkb reembed`` builds a new collection beside the active one and records the switch in
``kb_info`` (:data:`COLLECTION_KEY`).

Backend modules are imported only when chosen, so a plain install never loads a driver.
"""

from __future__ import annotations

import re
from pathlib import Path

from medkb.errors import ConfigError
from medkb.redact import mask_url
from medkb.stores.vector.base import COLLECTION, VectorStore

#: The ``kb_info`` key naming the active vector collection (absent: :data:`COLLECTION`).
COLLECTION_KEY = "vector_collection"
_COLLECTION_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")

ACCEPTED_FORMS = (
    "'local', 'local:///path/to/dir', a Milvus Lite path ending in '.db' (or "
    "'milvus:///path/kb.db'), 'milvus://host:port' or 'http://host:port' for a Milvus "
    "server, 'pgvector' (tables in MEDKB_DATABASE_URL) or 'pgvector+postgresql://...'"
)


def open_vector_store(
    url: str,
    *,
    dimension: int,
    home: Path,
    database_url: str | None = None,
    collection: str = COLLECTION,
) -> VectorStore:
    """Open the vector store ``url`` names (see the module docstring for the forms).

    Args:
        url: the ``MEDKB_VECTOR_URL`` setting.
        dimension: length of the embeddings the store holds.
        home: medkb's home directory; ``local`` keeps its files in ``home / "vectors"``.
        database_url: the relational ``MEDKB_DATABASE_URL``, used by ``pgvector``.
        collection: which collection (table, directory) of that store to open.

    Raises:
        ConfigError: ``url`` has none of the accepted forms, or ``pgvector`` is asked for
            without a PostgreSQL database URL.
        VectorStoreError: the backend could not be opened.
        DependencyMissing: the backend's driver is not installed.
    """
    url = url.strip()
    _check_collection(collection)
    if url == "local" or url.startswith("local://"):
        return _local(url, dimension=dimension, home=home, collection=collection)
    if url.startswith("pgvector"):
        return _pgvector(url, dimension=dimension, database_url=database_url, collection=collection)
    milvus_uri = _milvus_uri(url)
    if milvus_uri is not None:
        from medkb.stores.vector.milvus import MilvusVectorStore

        return MilvusVectorStore(milvus_uri, dimension=dimension, collection=collection)
    raise ConfigError(
        f"MEDKB_VECTOR_URL='{mask_url(url)}' is not a vector store URL; use {ACCEPTED_FORMS}."
    )


def drop_vector_collection(
    url: str,
    *,
    dimension: int,
    home: Path,
    database_url: str | None = None,
    collection: str,
) -> None:
    """Delete one collection of the store ``url`` names, with everything in it.

    Raises:
        ConfigError: ``collection`` is the default one; only replaced generations are
            dropped this way.
        VectorStoreError: the backend failed; the collection may still exist.
    """
    store = open_vector_store(
        url, dimension=dimension, home=home, database_url=database_url, collection=collection
    )
    drop = getattr(store, "drop", None)
    if drop is None:  # pragma: no cover - every backend has one
        store.close()
        raise ConfigError(f"The vector store '{mask_url(url)}' cannot drop collections.")
    drop()


def _check_collection(collection: str) -> None:
    if not _COLLECTION_NAME.match(collection):
        raise ConfigError(
            f"{collection!r} is not a usable vector collection name: use lower-case letters, "
            "digits and '_', starting with a letter, at most 40 characters."
        )


def local_directory(url: str, *, home: Path, collection: str = COLLECTION) -> Path:
    """The directory the ``local`` store ``url`` keeps ``collection`` in."""
    path = "" if url == "local" else url.removeprefix("local://")
    directory = Path(path).expanduser() if path else home / "vectors"
    if collection == COLLECTION:
        return directory
    return directory.with_name(f"{directory.name}.{collection}")


def _local(url: str, *, dimension: int, home: Path, collection: str) -> VectorStore:
    from medkb.stores.vector.local import LocalVectorStore

    directory = local_directory(url, home=home, collection=collection)
    return LocalVectorStore(directory, dimension=dimension)


def _milvus_uri(url: str) -> str | None:
    """The MilvusVectorStore URI for ``url``, or ``None`` if it is not a Milvus form."""
    if url.startswith("milvus://"):
        rest = url.removeprefix("milvus://")
        return rest if rest.endswith(".db") else "http://" + rest
    if url.startswith(("http://", "https://")):
        return url
    if url.endswith(".db") and "://" not in url:
        return url
    return None


def _pgvector(
    url: str, *, dimension: int, database_url: str | None, collection: str
) -> VectorStore:
    from medkb.stores.vector.pgvector import PgVectorStore, psycopg_url

    if url == "pgvector":
        if not database_url or not psycopg_url(database_url).startswith("postgresql://"):
            raise ConfigError(
                "MEDKB_VECTOR_URL=pgvector keeps vectors in the relational database, but "
                f"MEDKB_DATABASE_URL='{mask_url(database_url)}' is not PostgreSQL. Set "
                "MEDKB_DATABASE_URL to a postgresql:// URL, or MEDKB_VECTOR_URL to "
                "'pgvector+postgresql://...' or 'local'."
            )
        return PgVectorStore(psycopg_url(database_url), dimension=dimension, table=collection)
    target = url.removeprefix("pgvector+")
    if target == url or not psycopg_url(target).startswith("postgresql://"):
        raise ConfigError(
            f"MEDKB_VECTOR_URL='{mask_url(url)}' is not a pgvector URL "
            f"('pgvector+postgresql://user:password@host:port/dbname'); use {ACCEPTED_FORMS}."
        )
    return PgVectorStore(psycopg_url(target), dimension=dimension, table=collection)
