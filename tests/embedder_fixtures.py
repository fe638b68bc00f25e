"""Session fixtures for the embedders, for any test directory.

Import them into a conftest (or a test module) next to ``embed_cache``, which
``tests/conftest.py`` defines::

    from tests.embedder_fixtures import static_embedder

The static model is distilled from all-MiniLM-L6-v2 into ``embed_cache`` the first time it
is needed (tens of seconds on a CPU) and read back afterwards; point ``MEDKB_TEST_CACHE`` at a
lasting directory so CI pays that only once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from medkb.embed.static import StaticEmbedder


@pytest.fixture(scope="session")
def static_embedder(embed_cache: Path) -> StaticEmbedder:
    """The static embedder, loaded (distilling into ``embed_cache`` if needed), per session."""
    embedder = StaticEmbedder(embed_cache)
    embedder.load()
    return embedder
