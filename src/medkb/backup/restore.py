"""``medkb restore``: check a backup completely, then rebuild a knowledge base from it.

Nothing in the target is touched until the backup has passed every check: the manifest
is present and of a format and schema revision this medkb reads, every listed file exists
with its size and SHA-256, the relational dump fits the target database, and the target
is empty (or ``force`` was given, and the report says what was replaced). Then the new
knowledge base is built BESIDE the target (:mod:`medkb.backup.restore_staging`):

1. the relational data (SQLite file copy, the ``pg_dump`` data or the logical load) into a
   new SQLite file / PostgreSQL schema, migrated to this medkb's newest schema, and its
   row counts compared with the manifest;
2. the vectors, into a collection the target does not use: the exported collection is
   loaded (``method="load"``, the default and the faster) or rebuilt from the stored
   embeddings (``method="rebuild"``); then restored outbox rows are applied, and ids on
   which the same check as ``medkb sync verify`` finds drift are re-applied;
3. the object files, into a folder beside the object directory;
4. the verify reports, per tenant, must show zero drift.

Only then is the target replaced: the relational store is switched in one atomic step (a
file rename; one transaction), the object files moved in, and the replaced vector
collection dropped. A restore that fails (or is killed) at any step before the switch
leaves the target exactly as it was; what it staged is removed then, or by the next restore.
"""

from __future__ import annotations

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
from medkb.backup.restore_staging import (
    Staged,
    TargetState,
    is_local,
    open_collection,
    target_state,
)
from medkb.backup.snapshot import object_keys
from medkb.backup.tables import count_rows
from medkb.backup.targets import fetched
from medkb.config import Settings
from medkb.errors import InputError, InvalidBackup, VectorStoreError
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
    notes: list[str] = field(default_factory=list)

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
            "notes": self.notes,
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


def target_contents(settings: Settings, state: TargetState) -> TargetContents:
    """What the target (database, active vector collection, object directory) holds."""
    objects = len(object_keys(settings.resolved_object_dir()))
    return TargetContents(
        tables=relational_restore.contents(settings.resolved_database_url()),
        vectors=_vector_count(settings, state),
        objects=objects,
    )


def _vector_count(settings: Settings, state: TargetState) -> int:
    if is_local(settings):
        url = settings.resolved_vector_url()
        directory = local_directory(url, home=settings.home, collection=state.collection)
        if not (directory / SIDECAR).exists():
            return 0  # not even opened: nothing to replace, and nothing created
    try:
        store = open_collection(settings, state.collection, state.dimension)
    except VectorStoreError:
        return 1 if is_local(settings) else 0  # another model's collection: something is there
    try:
        return store.count()
    finally:
        store.close()


def restore(
    settings: Settings, source: str, *, force: bool = False, method: str = "load"
) -> RestoreReport:
    """Restore the backup at ``source`` (a folder or ``s3://…``) into ``settings``' KB.

    The new knowledge base is built beside the target and switched in at the end, so a
    restore that fails leaves the target as it was.

    Raises:
        InvalidBackup: the backup is corrupt, partial or incompatible; nothing was touched.
        InputError: the target is not empty and ``force`` is not set, or it is in use by
            another process; nothing was touched.
        StoreError: a store failed during the restore, or the restored stores drift; the
            target is unchanged.
    """
    if method not in METHODS:
        raise InputError(f"--vectors must be 'load' or 'rebuild', not {method!r}.")
    steps: dict[str, float] = {}
    started = time.perf_counter()
    with fetched(source, settings) as folder:
        steps["fetch"] = time.perf_counter() - started
        manifest = _checked(folder, settings, steps)
        state, replaced = _examine_target(settings, manifest, force=force)
        staged = Staged.create(
            settings,
            state,
            collection=manifest.vectors.get("collection", COLLECTION),
            dimension=manifest.embedding_dimension,
        )
        report = _restore_staged(folder, manifest, staged=staged, method=method, steps=steps)
    report.source, report.replaced, report.notes = source, replaced, staged.notes
    steps["total"] = time.perf_counter() - started
    return report


def _checked(folder: Path, settings: Settings, steps: dict[str, float]) -> Manifest:
    started = time.perf_counter()
    manifest = check_backup(folder)
    relational_restore.preflight(manifest, settings.resolved_database_url())
    steps["check"] = time.perf_counter() - started
    return manifest


def _examine_target(
    settings: Settings, manifest: Manifest, *, force: bool
) -> tuple[TargetState, TargetContents]:
    """The target's active collection and contents; refuse a non-empty one without force."""
    state = target_state(settings, dimension=manifest.embedding_dimension, empty=False)
    contents = target_contents(settings, state)
    state.empty = contents.empty
    if not contents.empty and not force:
        raise InputError(
            f"The restore target is not empty: it holds {contents.describe()}. Restore into an "
            "empty --home / database, or add --force to replace all of that with the backup."
        )
    return state, contents


def _timed(steps: dict[str, float], name: str, started: float) -> float:
    now = time.perf_counter()
    steps[name] = now - started
    return now


def _restore_staged(
    folder: Path, manifest: Manifest, *, staged: Staged, method: str, steps: dict[str, float]
) -> RestoreReport:
    """Build the new KB beside the target, then switch it in; undo the staging on failure."""
    try:
        report = _build(folder, manifest, staged=staged, method=method, steps=steps)
        started = time.perf_counter()
        staged.commit()
    except BaseException:
        staged.discard()
        raise
    staged.finish()
    _timed(steps, "switch", started)
    return report


def _build(
    folder: Path, manifest: Manifest, *, staged: Staged, method: str, steps: dict[str, float]
) -> RestoreReport:
    started = time.perf_counter()
    staged.db.load(folder, manifest)
    engine = staged.db.engine()
    try:
        _check_counts(engine, manifest)
        staged.name_collection(engine)
        started = _timed(steps, "relational", started)
        store = staged.open_store()
        try:
            written = _fill_vectors(folder, manifest, engine=engine, store=store, method=method)
            started = _timed(steps, "vectors", started)
            reapplied, reports = _reconcile(engine, store, manifest.tenants)
            started = _timed(steps, "verify", started)
        finally:
            store.close()
    finally:
        engine.dispose()
    objects = staged.objects.load(folder / "objects")
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
            f"The restored relational data does not match the manifest ({shown}); the target "
            "was left unchanged. Run the restore again; if it repeats, the backup is damaged."
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


def _check_clean(reports: list[VerifyReport]) -> None:
    drifting = [r for r in reports if not r.clean]
    if drifting:
        details = "; ".join(
            f"tenant {r.tenant_id}: {len(r.missing)} missing, {len(r.extra)} extra, "
            f"{len(r.stale)} stale"
            for r in drifting
        )
        raise VectorStoreError(
            f"The restored vector store drifts from the restored relational store ({details}), "
            "so the target was left unchanged. Run the restore with --vectors rebuild; "
            "report it if the drift stays."
        )
