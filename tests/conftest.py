"""Fixtures for every test directory. The server fixtures live in fixtures_servers.py."""

from tests.fixtures_servers import milvus_server_uri, pgvector_url

__all__ = ["milvus_server_uri", "pgvector_url"]
