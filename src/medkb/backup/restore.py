"""``medkb restore``: check a backup completely, then rebuild a knowledge base from it.

Nothing in the target is touched until the backup has passed every check: the manifest
is present and of a format and schema revision this medkb reads, every listed file exists
with its size and SHA-256, the relational dump fits the target database, and the target
is empty (or ``force`` was given, and the report says what was replaced). Then, in order:

1. the relational data (SQLite file copy, ``pg_restore`` or the logical load), migrated to
   this medkb's newest schema, and its row counts compared with the manifest;
2. the vectors: the exported collection is loaded (``method="load"``, the default and the
   faster) or rebuilt from the stored embeddings (``method="rebuild"``); then restored
   outbox rows are applied, and ids on which the same check as ``medkb sync verify``
   finds drift are re-applied from the relational data;
3. the object files;
4. the verify reports, per tenant, must show zero drift, or the restore fails.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from medkb.backup import relational_restore, vectors
from medkb.backup.manifest import (
    Manifest,
    check_files,
    check_revision,
    is_backup_name,
    read_manifest,
)
from medkb.backup.relational import known_revisions
from medkb.backup.snapshot import object_keys, open_collection
from medkb.backup.tables import count_rows
from medkb.backup.targets import fetched
from medkb.config import Settings
from medkb.errors import InputError, InvalidBackup, VectorStoreError
from medkb.stores.relational import engine as relational_engine
from medkb.stores.vector.base import COLLECTION, VectorStore
from medkb.stores.vector.local import SIDECAR
from medkb.stores.vector.registry import local_directory
from medkb.sync.repair import apply_pending, reapply, rebuild
from medkb.sync.verify import VerifyReport, verify

METHODS = ("load", "rebuild")


@dataclass
class TargetContents:
    """What the restore target already holds."""

    tables: dict[str, int] = field(default_factory=dict)
    vectors: int = 0
    objects: int = 0

    @property
    def empty(self) -> bool:
        """Whether nothing would be replaced."""
        return not self.tables and not self.vectors and not self.objects

    def describe(self) -> str:
        """``the relational store (medical_qa_metadata: 40 rows, ...), ...``."""
        parts = []
        if self.tables:
            rows = ", ".join(f"{name}: {count} rows" for name, count in self.tables.items())
            parts.append(f"the relational store ({rows})")
        if self.vectors:
            parts.append(f"the vector store ({self.vectors} records)")
        if self.objects:
            parts.append(f"the object store ({self.objects} files)")
        return "; ".join(parts) or "nothing"


@dataclass
class RestoreReport:
    """What a restore did, how long each step took, and the final verify reports."""

    source: str
    manifest: Manifest
    method: str
    replaced: TargetContents
    vectors_loaded: int
    vectors_rebuilt: int
    vectors_reapplied: int
    objects: int
    verify: list[VerifyReport]
    steps: dict[str, float]

    @property
    def clean(self) -> bool:
        """Whether every tenant verified with zero drift."""
        return all(report.clean for report in self.verify)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "source": self.source,
            "created_at": self.manifest.created_at,
            "schema_revision": self.manifest.schema_revision,
            "embedding_model": self.manifest.embedding_model,
            "tables": self.manifest.relational["tables"],
            "relational_kind": self.manifest.relational["kind"],
            "vector_method": self.method,
            "vectors_loaded": self.vectors_loaded,
            "vectors_rebuilt": self.vectors_rebuilt,
            "vectors_reapplied": self.vectors_reapplied,
            "objects": self.objects,
            "replaced": self.replaced.describe() if not self.replaced.empty else None,
            "seconds": {name: round(value, 3) for name, value in self.steps.items()},
            "verify": [report.to_dict() for report in self.verify],
            "clean": self.clean,
        }


def check_backup(folder: Path) -> Manifest:
    """Read the manifest and recompute every checksum; refuse anything wrong."""
    if not folder.is_dir():
        raise InvalidBackup(
            f"There is no backup folder {folder}. Give the path 'medkb backup' printed."
        )
    if not (folder / "manifest.json").exists():
        inside = sorted(p.name for p in folder.iterdir() if p.is_dir() and is_backup_name(p.name))
        if inside:
            raise InvalidBackup(
                f"{folder} holds backups rather than being one: {', '.join(inside)}. "
                f"Name one, e.g. medkb restore {folder / inside[-1]}"
            )
    manifest = read_manifest(folder)
    check_revision(manifest, known_revisions())
    check_files(folder, manifest)
    return manifest


def target_contents(settings: Settings, manifest: Manifest) -> TargetContents:
    """What the target (database, vector collection, object directory) already holds."""
    objects = len(object_keys(settings.resolved_object_dir()))
    return TargetContents(
        tables=relational_restore.contents(settings.resolved_database_url()),
        vectors=_vector_count(settings, manifest),
        objects=objects,
    )


def _info(manifest: Manifest) -> dict[str, str]:
    info = {"embedding_dimension": str(manifest.embedding_dimension)}
    return {**info, "vector_collection": manifest.vectors.get("collection", COLLECTION)}


def _local_dir(settings: Settings, manifest: Manifest) -> Path | None:
    url = settings.resolved_vector_url()
    if url != "local" and not url.startswith("local://"):
        return None
    collection = manifest.vectors.get("collection", COLLECTION)
    return local_directory(url, home=settings.home, collection=collection)


def _vector_count(settings: Settings, manifest: Manifest) -> int:
    local = _local_dir(settings, manifest)
    if local is not None and not (local / SIDECAR).exists():
        return 0  # not even opened: nothing to replace, and nothing created
    try:
        store = open_collection(settings, _info(manifest))
    except VectorStoreError:
        return 1 if local is not None else 0  # another model's collection: something is there
    try:
        return store.count()
    finally:
        store.close()


def _wipe(settings: Settings, manifest: Manifest) -> None:
    relational_restore.wipe(settings.resolved_database_url())
    local = _local_dir(settings, manifest)
    if local is not None:
        for pattern in (f"{SIDECAR}*", "*.hnsw.faiss"):
            for path in local.glob(pattern):
                path.unlink()
    else:
        store = open_collection(settings, _info(manifest))
        store.drop()  # type: ignore[attr-defined]
    shutil.rmtree(settings.resolved_object_dir(), ignore_errors=True)


def restore(
    settings: Settings, source: str, *, force: bool = False, method: str = "load"
) -> RestoreReport:
    """Restore the backup at ``source`` (a folder or ``s3://…``) into ``settings``' KB.

    Raises:
        InvalidBackup: the backup is corrupt, partial or incompatible; nothing was touched.
        InputError: the target is not empty and ``force`` is not set; nothing was touched.
        StoreError: a store failed during the restore, or the restored stores drift.
    """
    if method not in METHODS:
        raise InputError(f"--vectors must be 'load' or 'rebuild', not {method!r}.")
    steps: dict[str, float] = {}
    started = time.perf_counter()
    with fetched(source, settings) as folder:
        steps["fetch"] = time.perf_counter() - started
        manifest = _checked(folder, settings, steps)
        replaced = _prepare_target(settings, manifest, force=force)
        report = _restore_checked(folder, manifest, settings=settings, method=method, steps=steps)
    report.source, report.replaced = source, replaced
    steps["total"] = time.perf_counter() - started
    return report


def _checked(folder: Path, settings: Settings, steps: dict[str, float]) -> Manifest:
    started = time.perf_counter()
    manifest = check_backup(folder)
    relational_restore.preflight(manifest, settings.resolved_database_url())
    steps["check"] = time.perf_counter() - started
    return manifest


def _prepare_target(settings: Settings, manifest: Manifest, *, force: bool) -> TargetContents:
    contents = target_contents(settings, manifest)
    if contents.empty:  # an empty schema (no rows) would clash with the restored one
        relational_restore.wipe(settings.resolved_database_url())
        return contents
    if not force:
        raise InputError(
            f"The restore target is not empty: it holds {contents.describe()}. Restore into an "
            "empty --home / database, or add --force to replace all of that with the backup."
        )
    _wipe(settings, manifest)
    return contents


def _timed(steps: dict[str, float], name: str, started: float) -> float:
    now = time.perf_counter()
    steps[name] = now - started
    return now


def _restore_checked(
    folder: Path, manifest: Manifest, *, settings: Settings, method: str, steps: dict[str, float]
) -> RestoreReport:
    url = settings.resolved_database_url()
    started = time.perf_counter()
    relational_restore.restore(folder, manifest, url)
    engine = relational_engine.make_engine(url)
    try:
        _check_counts(engine, manifest)
        started = _timed(steps, "relational", started)
        store = open_collection(settings, _info(manifest))
        try:
            written = _fill_vectors(folder, manifest, engine=engine, store=store, method=method)
            started = _timed(steps, "vectors", started)
            reapplied, reports = _reconcile(engine, store, manifest.tenants)
            started = _timed(steps, "verify", started)
        finally:
            store.close()
    finally:
        engine.dispose()
    objects = _restore_objects(folder / "objects", settings.resolved_object_dir())
    _timed(steps, "objects", started)
    _check_clean(reports)
    return RestoreReport(
        source="",
        manifest=manifest,
        method=method,
        replaced=TargetContents(),
        vectors_loaded=written if method == "load" else 0,
        vectors_rebuilt=written if method == "rebuild" else 0,
        vectors_reapplied=reapplied,
        objects=objects,
        verify=reports,
        steps=steps,
    )


def _check_counts(engine: sa.Engine, manifest: Manifest) -> None:
    with engine.connect() as conn:
        restored = count_rows(conn)
    expected: dict[str, int] = manifest.relational["tables"]
    wrong = {
        name: (rows, restored.get(name))
        for name, rows in expected.items()
        if restored.get(name) != rows
    }
    if wrong:
        shown = ", ".join(
            f"{name}: {got} rows, expected {want}" for name, (want, got) in wrong.items()
        )
        raise InvalidBackup(
            f"The restored relational data does not match the manifest ({shown}). Run the "
            "restore again with --force; if it repeats, the backup is damaged."
        )


def _fill_vectors(
    folder: Path, manifest: Manifest, *, engine: sa.Engine, store: VectorStore, method: str
) -> int:
    """Load the exported collection, or rebuild it from the stored embeddings; records written."""
    if method == "rebuild":
        return sum(rebuild(engine, store, tenant_id=tenant)[0] for tenant in manifest.tenants)
    return vectors.load(
        store,
        folder / "vectors",
        dimension=manifest.embedding_dimension,
        count=int(manifest.vectors["records"]),
    )


def _reconcile(
    engine: sa.Engine, store: VectorStore, tenants: list[str]
) -> tuple[int, list[VerifyReport]]:
    """Apply restored outbox rows, verify each tenant, re-apply drifting ids, verify again.

    The export may be a little ahead of or behind the relational snapshot (writers were
    running); the relational store is the system of record, so its version wins.
    """
    apply_pending(engine, store)
    reapplied, reports = 0, []
    for tenant in tenants:
        report = verify(engine, store, tenant_id=tenant)
        if not report.clean:
            drifted = [*report.missing, *report.stale, *report.extra]
            upserted, deleted = reapply(engine, store, drifted, tenant_id=tenant)
            reapplied += upserted + deleted
            report = verify(engine, store, tenant_id=tenant)
        reports.append(report)
    return reapplied, reports


def _restore_objects(source: Path, target: Path) -> int:
    restored = 0
    for key in object_keys(source):
        target_path = target / key
        target_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / key, target_path)
        restored += 1
    return restored


def _check_clean(reports: list[VerifyReport]) -> None:
    drifting = [r for r in reports if not r.clean]
    if drifting:
        details = "; ".join(
            f"tenant {r.tenant_id}: {len(r.missing)} missing, {len(r.extra)} extra, "
            f"{len(r.stale)} stale"
            for r in drifting
        )
        raise VectorStoreError(
            f"The restore finished but the vector store drifts from the relational store "
            f"({details}). Run 'medkb sync repair' and 'medkb sync verify'; report it if the "
            "drift stays."
        )
