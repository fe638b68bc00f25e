"""The backup manifest: what a backup holds, and the checks a restore makes before anything.

``manifest.json`` is written last, after every other file of the backup is in place, so a
backup that crashed half-way has no manifest and is never mistaken for a complete one.
It lists every file with its size and SHA-256; :func:`check_files` recomputes them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from medkb.errors import InvalidBackup

FORMAT = "medkb-backup"
#: Bumped when the layout changes in a way an older medkb cannot read.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
NAME_PREFIX = "medkb-backup-"
_NAME = re.compile(r"^medkb-backup-\d{8}T\d{6}\.\d{3}Z$")
_CHUNK = 1 << 20


@dataclass
class Manifest:
    """Everything a restore needs to know about a backup before touching the target."""

    created_at: str
    medkb_version: str
    schema_revision: str
    embedding_model: str
    embedding_dimension: int
    #: ``{"dialect": "sqlite"|"postgresql", "kind": "sqlite-file"|"pg_dump"|"jsonl",
    #: "tables": {table: rows}}``
    relational: dict[str, Any]
    tenants: list[str]
    #: ``{"store": "local"|"milvus"|"pgvector", "records": n, "dimension": d, "fields": [...]}``
    vectors: dict[str, Any]
    #: ``{"files": n, "bytes": b}``
    objects: dict[str, int]
    #: ``{relative path: {"sha256": hex, "size": bytes}}`` of every file but the manifest.
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Read a parsed manifest, refusing one that is not a medkb backup of this format."""
        if data.get("format") != FORMAT:
            raise InvalidBackup(
                "This manifest.json is not a medkb backup manifest (no 'format': "
                f"'{FORMAT}'). Point medkb restore at a folder 'medkb backup' wrote."
            )
        if data.get("format_version") != FORMAT_VERSION:
            raise InvalidBackup(
                f"This backup has format version {data.get('format_version')!r}, made by "
                f"medkb {data.get('medkb_version', '?')}; this medkb reads format "
                f"{FORMAT_VERSION} only. Restore it with the medkb version that made it."
            )
        try:
            manifest = cls(**{key: data[key] for key in cls.__dataclass_fields__})
        except (KeyError, TypeError) as exc:
            raise InvalidBackup(
                f"The backup manifest is incomplete ({exc}); the backup is damaged. "
                "Restore an older backup."
            ) from exc
        _check_names(manifest.files)
        return manifest


def _check_names(files: dict[str, Any]) -> None:
    """Refuse file names that would escape the backup folder."""
    for name in files:
        path = PurePosixPath(name)
        if not name or path.is_absolute() or ".." in path.parts or name == MANIFEST:
            raise InvalidBackup(
                f"The backup manifest lists the file {name!r}, which is not a plain relative "
                "path; the manifest is damaged or forged. Nothing was restored."
            )


def backup_name(now: datetime) -> str:
    """The folder / prefix name of a backup taken at ``now`` (UTC); sorts by time."""
    return f"{NAME_PREFIX}{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z"


def is_backup_name(name: str) -> bool:
    """Whether ``name`` is a name :func:`backup_name` gives."""
    return bool(_NAME.match(name))


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def backup_files(root: Path) -> Iterator[Path]:
    """Every file of the backup folder ``root`` except the manifest, sorted."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.relative_to(root).as_posix() != MANIFEST:
            yield path


def describe_files(root: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: {"sha256", "size"}}`` of every file under ``root``."""
    return {
        path.relative_to(root).as_posix(): {
            "sha256": sha256_file(path),
            "size": path.stat().st_size,
        }
        for path in backup_files(root)
    }


def write_manifest(root: Path, manifest: Manifest) -> None:
    """Write ``manifest.json`` atomically (temp file, fsync, rename): the commit point."""
    tmp = root / f".{MANIFEST}.tmp"
    with tmp.open("w", encoding="utf-8") as out:
        json.dump(manifest.to_dict(), out, indent=2, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, root / MANIFEST)


def read_manifest(root: Path) -> Manifest:
    """Read and check the manifest of the backup folder ``root``."""
    path = root / MANIFEST
    if not path.is_file():
        raise InvalidBackup(
            f"{root} has no {MANIFEST}: the backup is partial (it crashed or is still being "
            "written) or this is not a medkb backup folder. Restore a complete backup."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidBackup(
            f"{path} cannot be read as JSON ({exc}); the backup is damaged. "
            "Restore an older backup."
        ) from exc
    if not isinstance(data, dict):
        raise InvalidBackup(f"{path} is not a JSON object; the backup is damaged.")
    return Manifest.from_dict(data)


def check_files(root: Path, manifest: Manifest) -> None:
    """Refuse a backup with a missing, resized or altered file (every checksum recomputed)."""
    problems = [
        problem
        for name, entry in sorted(manifest.files.items())
        if (problem := _file_problem(root / name, name, entry))
    ]
    if problems:
        shown = "; ".join(problems[:10]) + ("; …" if len(problems) > 10 else "")
        raise InvalidBackup(
            f"The backup at {root} failed its checksum check on {len(problems)} file(s): "
            f"{shown}. It is corrupt or incomplete; nothing was restored. Restore another "
            "backup (or copy this one again from its origin)."
        )


def _file_problem(path: Path, name: str, entry: dict[str, Any]) -> str | None:
    if not path.is_file():
        return f"{name} is missing"
    size = path.stat().st_size
    if size != entry.get("size"):
        return f"{name} has {size} bytes, the manifest says {entry.get('size')}"
    if sha256_file(path) != entry.get("sha256"):
        return f"{name} does not match its SHA-256"
    return None


def check_revision(manifest: Manifest, known: Collection[str]) -> None:
    """Refuse a backup whose schema revision this medkb does not ship (a newer medkb's)."""
    if manifest.schema_revision not in known:
        raise InvalidBackup(
            f"The backup's database schema is at revision {manifest.schema_revision!r}, "
            f"which this medkb does not know (it was made by medkb {manifest.medkb_version}, "
            "probably newer). Upgrade medkb (pip install -U medkb) and restore again."
        )
