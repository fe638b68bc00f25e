"""Objects as files under a directory: the embedded default object store."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from medkb.errors import InputError, NotFound, ObjectStoreError


class LocalObjectStore:
    """Stores each key as a file below ``root``; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        parts = Path(key).parts
        if not key or Path(key).is_absolute() or ".." in parts:
            raise InputError(f"Object key {key!r} must be a relative path without '..'.")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise ObjectStoreError(
                f"Could not write object {key!r} under {self.root}: {exc}. "
                "Check free disk space and permissions of the medkb home."
            ) from exc

    def get(self, key: str) -> bytes:
        """Return the bytes under ``key``."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(f"No object {key!r} in {self.root}.") from exc

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds an object."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove ``key``; absent keys are ignored."""
        self._path(key).unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix``, sorted."""
        if not self.root.exists():
            return
        found = (
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.is_file() and not path.name.startswith(".tmp-")
        )
        yield from sorted(key for key in found if key.startswith(prefix))
