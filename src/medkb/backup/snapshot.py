"""``medkb backup``: one consistent snapshot of a knowledge base, committed by its manifest.

Order matters. The relational store — the system of record — is snapshotted first, in one
transaction (:mod:`medkb.backup.relational`). The vector collection is exported next and
the object files copied last: an object a snapshotted pair points to was written before
that pair was committed, so it is there. Writes that land between the relational snapshot
and the vector export leave the export slightly ahead or behind; ``medkb restore``
reconciles the vectors with the relational snapshot, so that never reaches a restored KB.
The manifest is written last and the staging folder then renamed (or uploaded), so a
crash at any point leaves nothing that looks like a complete backup.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from medkb.backup import relational, vectors
from medkb.backup.manifest import Manifest, backup_name, describe_files, write_manifest
from medkb.backup.relational import RelationalSnapshot
from medkb.backup.targets import BackupTarget, open_target
from medkb.config import Settings
from medkb.errors import InputError
from medkb.models import VECTOR_FIELDS
from medkb.stores.objects.local import LocalObjectStore
from medkb.stores.relational import engine as relational_engine
from medkb.stores.vector.base import COLLECTION, VectorStore
from medkb.stores.vector.registry import COLLECTION_KEY, open_vector_store
from medkb.sync.apply import Clock, utcnow


@dataclass
class BackupReport:
    """Where a backup went, what it holds, and which older backups ``--keep`` removed."""

    location: str
    name: str
    manifest: Manifest
    seconds: float
    removed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the manifest without its per-file list)."""
        summary = {k: v for k, v in self.manifest.to_dict().items() if k != "files"}
        total = sum(entry["size"] for entry in self.manifest.files.values())
        return {
            "location": self.location,
            "name": self.name,
            "seconds": round(self.seconds, 3),
            "files": len(self.manifest.files),
            "bytes": total,
            "removed": self.removed,
            "manifest": summary,
        }


def medkb_version() -> str:
    """The installed medkb version."""
    try:
        return package_metadata.version("medkb")
    except package_metadata.PackageNotFoundError:  # pragma: no cover - always installed
        return "unknown"


def vector_store_kind(url: str) -> str:
    """``local``, ``pgvector`` or ``milvus``, from ``MEDKB_VECTOR_URL``."""
    if url == "local" or url.startswith("local://"):
        return "local"
    return "pgvector" if url.startswith("pgvector") else "milvus"


def open_collection(settings: Settings, info: dict[str, str]) -> VectorStore:
    """The vector store of ``settings``, on the collection ``kb_info`` names as active."""
    return open_vector_store(
        settings.resolved_vector_url(),
        dimension=int(info["embedding_dimension"]),
        home=settings.home,
        database_url=settings.resolved_database_url(),
        collection=info.get(COLLECTION_KEY, COLLECTION),
    )


@contextmanager
def _store(settings: Settings, info: dict[str, str], given: VectorStore | None) -> Iterator[Any]:
    if given is not None:
        yield given
        return
    store = open_collection(settings, info)
    try:
        yield store
    finally:
        store.close()


def object_keys(root: Path) -> list[str]:
    """Keys of every object file under the object directory ``root``."""
    return list(LocalObjectStore(root).keys(prefix=""))


def copy_objects(source: Path, target: Path) -> dict[str, int]:
    """Copy every object file under ``source`` to ``target``; return files and bytes."""
    files = size = 0
    for key in object_keys(source):
        destination = target / key
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / key, destination)
        files, size = files + 1, size + destination.stat().st_size
    return {"files": files, "bytes": size}


def write_snapshot(
    staging: Path,
    *,
    settings: Settings,
    engine: sa.Engine,
    store: VectorStore | None = None,
    logical: bool = False,
) -> Manifest:
    """Write the relational snapshot, the vector export, the objects, then the manifest."""
    snap = relational.snapshot(engine, staging / relational.RELATIONAL_DIR, logical=logical)
    _check_has_model(snap, settings)
    with _store(settings, snap.kb_info, store) as opened:
        records = vectors.export(opened, staging / "vectors")
    objects = copy_objects(settings.resolved_object_dir(), staging / "objects")
    manifest = _manifest(snap, settings=settings, records=records, objects=objects)
    manifest.files = describe_files(staging)
    write_manifest(staging, manifest)
    return manifest


def _check_has_model(snap: RelationalSnapshot, settings: Settings) -> None:
    if "embedding_model" not in snap.kb_info:
        raise InputError(
            f"The knowledge base in {settings.home} holds nothing to back up yet (no pairs "
            "were ever stored, so it has no embedding model). Ingest something first."
        )


def _manifest(
    snap: RelationalSnapshot, *, settings: Settings, records: int, objects: dict[str, int]
) -> Manifest:
    dimension = int(snap.kb_info["embedding_dimension"])
    return Manifest(
        created_at=utcnow().isoformat(),
        medkb_version=medkb_version(),
        schema_revision=snap.revision,
        embedding_model=snap.kb_info["embedding_model"],
        embedding_dimension=dimension,
        relational={
            "dialect": snap.dialect,
            "kind": snap.kind,
            "tables": snap.tables,
            "tool": snap.tool,
        },
        tenants=snap.tenants,
        vectors={
            "store": vector_store_kind(settings.resolved_vector_url()),
            "collection": snap.kb_info.get(COLLECTION_KEY, COLLECTION),
            "records": records,
            "dimension": dimension,
            "fields": list(VECTOR_FIELDS),
            "dtype": vectors.DTYPE,
        },
        objects=objects,
    )


def prune(target: BackupTarget, *, keep: int, current: str) -> list[str]:
    """Remove the oldest complete backups beyond ``keep`` (never ``current``)."""
    names = target.backups()
    excess = max(len(names) - keep, 0)
    doomed = [name for name in names if name != current][:excess]
    for name in doomed:
        target.remove(name)
    return doomed


def _check_keep(keep: int | None) -> None:
    if keep is not None and keep < 1:
        raise InputError(f"--keep {keep} would delete the backup just made; give 1 or more.")


def backup(
    settings: Settings,
    output: str,
    *,
    keep: int | None = None,
    logical: bool = False,
    store: VectorStore | None = None,
    clock: Clock = utcnow,
) -> BackupReport:
    """Back up the knowledge base ``settings`` describe to ``output`` (folder or ``s3://``).

    Args:
        settings: the knowledge base to back up.
        output: a local folder or ``s3://bucket/prefix``; the backup is a new
            ``medkb-backup-<timestamp>`` inside it.
        keep: after a successful backup, keep only the newest ``keep`` backups there.
        logical: dump the relational data as JSONL even where a native dump is possible.
        store: an open vector store to export from (default: open the configured one).
        clock: the time source that names the backup.

    Raises:
        InputError: ``keep`` is below 1, or the knowledge base is empty.
        StoreError: a store, ``pg_dump`` or the target failed; no backup was committed.
    """
    _check_keep(keep)
    started = time.perf_counter()
    target = open_target(output, settings)
    name = backup_name(clock())
    engine = relational_engine.make_engine(settings.resolved_database_url())
    staging = target.stage(name)
    try:
        manifest = write_snapshot(
            staging, settings=settings, engine=engine, store=store, logical=logical
        )
        location = target.commit(staging, name)
    except BaseException:
        target.discard(staging)
        raise
    finally:
        engine.dispose()
    removed = prune(target, keep=keep, current=name) if keep else []
    return BackupReport(location, name, manifest, time.perf_counter() - started, removed)
