"""Fixtures for the unit tests.

``static_embedder`` comes from ``tests/embedder_fixtures.py``; once ``tests/conftest.py``
imports it for every directory, this file can go.
"""

from __future__ import annotations

from tests.embedder_fixtures import static_embedder

__all__ = ["static_embedder"]
