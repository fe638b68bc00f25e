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

Backend modules are imported only when chosen, so a plain install never loads a driver.
"""

from __future__ import annotations

from pathlib import Path

from medkb.errors import ConfigError
from medkb.stores.vector.base import VectorStore

ACCEPTED_FORMS = (
    "'local', 'local:///path/to/dir', a Milvus Lite path ending in '.db' (or "
    "'milvus:///path/kb.db'), 'milvus://host:port' or 'http://host:port' for a Milvus "
    "server, 'pgvector' (tables in MEDKB_DATABASE_URL) or 'pgvector+postgresql://...'"
)


def open_vector_store(
    url: str, *, dimension: int, home: Path, database_url: str | None = None
) -> VectorStore:
    """Open the vector store ``url`` names (see the module docstring for the forms).

    Args:
        url: the ``MEDKB_VECTOR_URL`` setting.
        dimension: length of the embeddings the store holds.
        home: medkb's home directory; ``local`` keeps its files in ``home / "vectors"``.
        database_url: the relational ``MEDKB_DATABASE_URL``, used by ``pgvector``.

    Raises:
        ConfigError: ``url`` has none of the accepted forms, or ``pgvector`` is asked for
            without a PostgreSQL database URL.
        VectorStoreError: the backend could not be opened.
        DependencyMissing: the backend's driver is not installed.
    """
    url = url.strip()
    if url == "local" or url.startswith("local://"):
        return _local(url, dimension=dimension, home=home)
    if url.startswith("pgvector"):
        return _pgvector(url, dimension=dimension, database_url=database_url)
    milvus_uri = _milvus_uri(url)
    if milvus_uri is not None:
        from medkb.stores.vector.milvus import MilvusVectorStore

        return MilvusVectorStore(milvus_uri, dimension=dimension)
    raise ConfigError(f"MEDKB_VECTOR_URL={url!r} is not a vector store URL; use {ACCEPTED_FORMS}.")


def _local(url: str, *, dimension: int, home: Path) -> VectorStore:
    from medkb.stores.vector.local import LocalVectorStore

    path = "" if url == "local" else url.removeprefix("local://")
    directory = Path(path).expanduser() if path else home / "vectors"
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


def _pgvector(url: str, *, dimension: int, database_url: str | None) -> VectorStore:
    from medkb.stores.vector.pgvector import PgVectorStore, psycopg_url

    if url == "pgvector":
        if not database_url or not psycopg_url(database_url).startswith("postgresql://"):
            raise ConfigError(
                "MEDKB_VECTOR_URL=pgvector keeps vectors in the relational database, but "
                f"MEDKB_DATABASE_URL={database_url!r} is not PostgreSQL. Set "
                "MEDKB_DATABASE_URL to a postgresql:// URL, or MEDKB_VECTOR_URL to "
                "'pgvector+postgresql://...' or 'local'."
            )
        return PgVectorStore(psycopg_url(database_url), dimension=dimension)
    target = url.removeprefix("pgvector+")
    if target == url or not psycopg_url(target).startswith("postgresql://"):
        raise ConfigError(
            f"MEDKB_VECTOR_URL={url!r} is not a pgvector URL "
            f"('pgvector+postgresql://user:password@host:port/dbname'); use {ACCEPTED_FORMS}."
        )
    return PgVectorStore(psycopg_url(target), dimension=dimension)
