"""The object store contract: raw uploads, processed text and backups, by key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable


@runtime_checkable
class ObjectStore(Protocol):
    """Bytes by key (``raw/<sha256>/<name>``, ``processed/...``, ``backups/...``)."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there, atomically."""

    def get(self, key: str) -> bytes:
        """Return the bytes under ``key``; raise :class:`medkb.errors.NotFound` if absent."""

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds an object."""

    def delete(self, key: str) -> None:
        """Remove ``key``; absent keys are ignored."""

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix``, sorted."""
