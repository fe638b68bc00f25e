"""Where backups live: a local folder or an S3-compatible bucket (``s3://bucket/prefix``).

A backup is always written into a local staging folder first, manifest last. A folder target
then renames ``.<name>.partial`` to ``<name>``; an S3 target uploads every file (multipart,
streamed from disk) and ``manifest.json`` last. Either way a backup that crashed half-way
has no manifest under its final name and is never listed, restored or counted by ``--keep``.
Removal deletes the manifest first for the same reason.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from medkb.backup.manifest import MANIFEST, Manifest, backup_files, is_backup_name, read_manifest
from medkb.backup.s3 import S3Location
from medkb.config import Settings
from medkb.errors import InvalidBackup, ObjectStoreError


class BackupTarget(Protocol):
    """A place that holds medkb backups side by side."""

    location: str

    def stage(self, name: str) -> Path:
        """A new, empty local folder to write the backup ``name`` into."""

    def commit(self, staging: Path, name: str) -> str:
        """Publish a finished staging folder as ``name``; return where it now is."""

    def discard(self, staging: Path) -> None:
        """Remove a staging folder after a failure."""

    def backups(self) -> list[str]:
        """Names of the complete medkb backups here, oldest first."""

    def remove(self, name: str) -> None:
        """Delete one backup (manifest first, so a half-removed one is never complete)."""


class DirTarget:
    """Backups as sub-folders of a local directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def stage(self, name: str) -> Path:
        """``<root>/.<name>.partial``."""
        staging = self.root / f".{name}.partial"
        try:
            staging.mkdir(parents=True)
        except OSError as exc:
            raise ObjectStoreError(
                f"Cannot create {staging}: {exc}. Check the --output folder's permissions."
            ) from exc
        return staging

    def commit(self, staging: Path, name: str) -> str:
        """Rename the staging folder to its final name."""
        final = self.root / name
        staging.rename(final)
        return str(final)

    def discard(self, staging: Path) -> None:
        """Remove the staging folder."""
        shutil.rmtree(staging, ignore_errors=True)

    def backups(self) -> list[str]:
        """Sub-folders with a backup name and a valid medkb manifest, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(
            path.name
            for path in self.root.iterdir()
            if path.is_dir() and is_backup_name(path.name) and _is_complete(path)
        )

    def remove(self, name: str) -> None:
        """Delete the backup folder ``name``."""
        if not is_backup_name(name):
            raise InvalidBackup(f"{name!r} is not a medkb backup name; not removing it.")
        (self.root / name / MANIFEST).unlink(missing_ok=True)
        shutil.rmtree(self.root / name)


def _is_complete(path: Path) -> bool:
    try:
        read_manifest(path)
    except InvalidBackup:
        return False
    return True


class S3Target:
    """Backups as prefixes ``<prefix>/<name>/`` of an S3-compatible bucket."""

    def __init__(self, where: S3Location) -> None:
        self.where = where
        self.location = where.url()

    def stage(self, name: str) -> Path:
        """A local temporary folder."""
        return Path(tempfile.mkdtemp(prefix=f".{name}."))

    def commit(self, staging: Path, name: str) -> str:
        """Upload every file, then ``manifest.json``; remove the staging folder."""
        backup = self.where.child(name)
        try:
            for path in backup_files(staging):
                backup.upload(path, path.relative_to(staging).as_posix())
            backup.upload(staging / MANIFEST, MANIFEST)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return backup.url()

    def discard(self, staging: Path) -> None:
        """Remove the local staging folder."""
        shutil.rmtree(staging, ignore_errors=True)

    def backups(self) -> list[str]:
        """Child prefixes with a backup name and a valid medkb manifest, oldest first."""
        found = []
        for name in self.where.children():
            if is_backup_name(name) and self._is_complete(name):
                found.append(name)
        return sorted(found)

    def _is_complete(self, name: str) -> bool:
        with tempfile.TemporaryDirectory() as tmp:
            if not self.where.child(name).download(MANIFEST, Path(tmp) / MANIFEST):
                return False
            return _is_complete(Path(tmp))

    def remove(self, name: str) -> None:
        """Delete every object of the backup ``name``, its manifest first."""
        if not is_backup_name(name):
            raise InvalidBackup(f"{name!r} is not a medkb backup name; not removing it.")
        backup = self.where.child(name)
        backup.delete([MANIFEST])
        backup.delete(list(backup.keys()))


def open_target(location: str, settings: Settings) -> BackupTarget:
    """The target ``--output`` names: ``s3://bucket/prefix`` or a local folder."""
    if location.startswith("s3://"):
        return S3Target(S3Location.parse(location, endpoint_url=settings.s3_endpoint_url))
    return DirTarget(Path(location).expanduser())


@contextmanager
def fetched(location: str, settings: Settings) -> Iterator[Path]:
    """A local folder holding the backup at ``location`` (downloaded first for S3).

    Only the manifest and the files it lists are downloaded; nothing is checked here.
    """
    if not location.startswith("s3://"):
        yield Path(location).expanduser()
        return
    where = S3Location.parse(location, endpoint_url=settings.s3_endpoint_url)
    with tempfile.TemporaryDirectory(prefix="medkb-restore-") as tmp:
        _download(where, Path(tmp))
        yield Path(tmp)


def _download(where: S3Location, folder: Path) -> None:
    if not where.download(MANIFEST, folder / MANIFEST):
        names = [name for name in where.children() if is_backup_name(name)]
        hint = f" It holds the backups {', '.join(names)}; name one." if names else ""
        raise InvalidBackup(
            f"{where.url()} has no {MANIFEST}: it is not a complete medkb backup (a partial "
            f"upload, or the wrong prefix).{hint}"
        )
    manifest: Manifest = read_manifest(folder)
    for name in manifest.files:
        where.download(name, folder / name)  # a missing one is reported by the checksum check
