"""Where a restore puts the new knowledge base before it replaces the target, and the switch.

Everything is built beside the target, which stays exactly as it was until the switch:

* the relational store: a new SQLite file or PostgreSQL schema
  (:func:`medkb.backup.relational_restore.stage`);
* the vectors: a collection the target does not use — :data:`RESTORED_COLLECTION` when
  the target's active collection is the default one, else the default one (a fresh target
  gets the backup's own collection) — named as active in the staged ``kb_info``;
* the object files: a new folder ``.<objects>.restore-<token>`` beside the object directory.

:meth:`Staged.commit` switches the relational store in one atomic step; that is the commit
point, since the relational store names the active collection. The object files are then
moved in (one rename per file), the replaced knowledge base's own object files (medkb's
``raw/<hash>/<name>`` keys that the backup lacks) removed, and its vector collection
dropped. Only paths medkb created are ever removed: never the home, the object directory,
or any file outside medkb's layout. :meth:`Staged.discard` undoes the staging after a
failure.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from medkb.backup import relational_restore
from medkb.backup.relational_restore import STAGED_MARK, StagedDatabase
from medkb.backup.snapshot import object_keys
from medkb.config import Settings
from medkb.errors import MedkbError, ObjectStoreError
from medkb.stores.relational.schema import kb_info
from medkb.stores.vector.base import COLLECTION, VectorStore
from medkb.stores.vector.local import SIDECAR
from medkb.stores.vector.registry import COLLECTION_KEY, local_directory, open_vector_store

#: The collection a restore fills when the target uses the default one.
RESTORED_COLLECTION = f"{COLLECTION}_r"
#: Object keys medkb writes (``ingest.pipeline.raw_key``): the only ones a restore removes.
_MEDKB_KEY = re.compile(r"^raw/[0-9a-f]{32}/[^/]+$")


@dataclass
class TargetState:
    """The target's active vector collection and its dimension, from its ``kb_info``."""

    collection: str
    dimension: int
    empty: bool


def target_state(settings: Settings, *, dimension: int, empty: bool) -> TargetState:
    """What the target uses now (``dimension``: the backup's, when the target has none)."""
    info = relational_restore.target_info(settings.resolved_database_url())
    return TargetState(
        collection=info.get(COLLECTION_KEY) or COLLECTION,
        dimension=int(info.get("embedding_dimension") or dimension),
        empty=empty,
    )


def is_local(settings: Settings) -> bool:
    """Whether the vector store is the ``local`` index (files in a directory)."""
    url = settings.resolved_vector_url()
    return url == "local" or url.startswith("local://")


def open_collection(settings: Settings, collection: str, dimension: int) -> VectorStore:
    """The configured vector store, on ``collection``."""
    return open_vector_store(
        settings.resolved_vector_url(),
        dimension=dimension,
        home=settings.home,
        database_url=settings.resolved_database_url(),
        collection=collection,
    )


def drop_collection(settings: Settings, collection: str, dimension: int) -> None:
    """Delete one collection; for ``local``, only the files the store writes."""
    if is_local(settings):
        url = settings.resolved_vector_url()
        directory = local_directory(url, home=settings.home, collection=collection)
        for pattern in (f"{SIDECAR}*", "*.hnsw.faiss"):
            for path in directory.glob(pattern):
                path.unlink(missing_ok=True)
        with suppress(OSError):
            directory.rmdir()  # only when nothing else is in it
        return
    store = open_collection(settings, collection, dimension)
    store.drop()  # type: ignore[attr-defined]


class StagedObjects:
    """The backup's object files in a folder beside the object directory."""

    def __init__(self, target: Path, *, token: str) -> None:
        self.target = target
        self.path = target.with_name(f".{target.name}{STAGED_MARK}{token}")

    def sweep(self) -> None:
        """Remove staging folders a killed restore left beside the object directory."""
        if self.target.parent.is_dir():
            for path in self.target.parent.glob(f".{self.target.name}{STAGED_MARK}*"):
                shutil.rmtree(path, ignore_errors=True)

    def load(self, source: Path) -> int:
        """Copy every object file of the backup into the staging folder; return how many."""
        self.path.mkdir(parents=True)
        keys = object_keys(source)
        for key in keys:
            destination = self.path / key
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / key, destination)
        return len(keys)

    def commit(self) -> None:
        """Move the staged files in; remove the replaced KB's own files the backup lacks."""
        old = {key for key in object_keys(self.target) if _MEDKB_KEY.match(key)}
        new = object_keys(self.path)
        for key in new:
            destination = self.target / key
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path / key, destination)
        for key in sorted(old - set(new)):
            (self.target / key).unlink(missing_ok=True)
            _prune_empty(self.target / key, root=self.target)
        self.discard()

    def discard(self) -> None:
        """Delete the staging folder (medkb created it, with everything in it)."""
        shutil.rmtree(self.path, ignore_errors=True)


def _prune_empty(path: Path, *, root: Path) -> None:
    """Remove the now-empty folders medkb's layout made above ``path`` (never ``root``)."""
    parent = path.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


@dataclass
class Staged:
    """The new knowledge base, built beside the target."""

    settings: Settings
    db: StagedDatabase
    collection: str
    dimension: int  # the backup's
    objects: StagedObjects
    replaced: TargetState
    notes: list[str] = field(default_factory=list)

    @classmethod
    def create(
        cls, settings: Settings, replaced: TargetState, *, collection: str, dimension: int
    ) -> Staged:
        """Name and prepare the staged stores, removing what killed restores left.

        ``collection`` and ``dimension`` are the backup's.
        """
        token = secrets.token_hex(4)
        objects = StagedObjects(settings.resolved_object_dir(), token=token)
        objects.sweep()
        db = relational_restore.stage(settings.resolved_database_url())
        name = _staged_collection(replaced, collection)
        staged = cls(settings, db, name, dimension, objects, replaced)
        try:
            drop_collection(settings, name, dimension)  # what a killed restore left in it
        except BaseException:
            db.discard()
            raise
        return staged

    def open_store(self) -> VectorStore:
        """The staged vector collection."""
        return open_collection(self.settings, self.collection, self.dimension)

    def name_collection(self, engine: sa.Engine) -> None:
        """Record the staged collection as the active one in the staged ``kb_info``."""
        with engine.begin() as conn:
            conn.execute(kb_info.delete().where(kb_info.c.key == COLLECTION_KEY))
            if self.collection != COLLECTION:  # absent means the default one
                conn.execute(kb_info.insert().values(key=COLLECTION_KEY, value=self.collection))

    def discard(self) -> None:
        """Remove everything staged (after a failure before the commit)."""
        with suppress(MedkbError, OSError, sa.exc.SQLAlchemyError):
            self.db.discard()
        self.objects.discard()
        with suppress(MedkbError, OSError, sa.exc.SQLAlchemyError):
            if not self._in_use():
                drop_collection(self.settings, self.collection, self.dimension)

    def _in_use(self) -> bool:
        """Whether the target's ``kb_info`` already names the staged collection (committed)."""
        info = relational_restore.target_info(self.settings.resolved_database_url())
        return bool(info) and (info.get(COLLECTION_KEY) or COLLECTION) == self.collection

    def commit(self) -> None:
        """Switch the relational store in: from here on the target is the restored KB."""
        self.db.commit()

    def finish(self) -> None:
        """After the commit: move the object files in, drop the replaced collection.

        Raises:
            ObjectStoreError: the object files could not be moved; the restored KB is in
                place, its object files are still in the staging folder.
        """
        try:
            self.objects.commit()
        except OSError as exc:
            raise ObjectStoreError(
                f"The knowledge base was restored, but its object files could not be moved "
                f"from {self.objects.path} into {self.objects.target}: {exc}. Move them by "
                "hand, or fix the cause and run medkb restore --force again."
            ) from exc
        old = self.replaced
        if not old.empty and old.collection != self.collection:
            try:
                drop_collection(self.settings, old.collection, old.dimension)
            except MedkbError as exc:
                self.notes.append(
                    f"The replaced vector collection {old.collection!r} could not be dropped "
                    f"({exc}); it is unused, drop it when convenient."
                )


def _staged_collection(target: TargetState, backup_collection: str) -> str:
    if target.empty and target.collection == COLLECTION:
        return backup_collection  # a fresh target: keep the backup's name
    return RESTORED_COLLECTION if target.collection == COLLECTION else COLLECTION
