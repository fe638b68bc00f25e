"""``medkb reembed``: move a knowledge base to another embedding model without downtime.

1. Record the target model and a new, generation-suffixed vector collection in ``kb_info``
   (``medical_knowledge_base_g2``, ``_g3``, …). Nothing that answers queries changes: the
   active model, ``qa_embeddings`` and the active collection stay as they are.
2. Embed every pair with the new model in batches: vectors into the new collection, then
   into ``qa_embeddings_next`` tagged with the pair's content hash
   (:mod:`medkb.relocate.staging`). Pairs written meanwhile are caught up, round after
   round, until none is stale. Killed at any point, a re-run resumes where it stopped.
3. Switch in ONE relational transaction that holds off writers: staged vectors replace
   the old ones, and ``kb_info`` names the new model, dimension and collection.
4. Re-embed pairs a still-running old-model process wrote after the switch, repair the new
   collection (outbox, ``related_nodes``), verify it, and drop the old collection.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from medkb.config import Settings
from medkb.embed.base import Embedder
from medkb.embed.registry import open_embedder
from medkb.errors import InputError, NotFound, RelationalStoreError
from medkb.ingest.writer import Writer, embed_pairs
from medkb.models import QAPair
from medkb.relocate import staging
from medkb.relocate.vectors import all_clean, drift_view
from medkb.stores.relational import engine as relational
from medkb.stores.relational import pairs
from medkb.stores.relational.schema import embeddings_next, qa
from medkb.stores.vector.base import COLLECTION, VectorStore
from medkb.stores.vector.fit import copy_limits
from medkb.stores.vector.registry import drop_vector_collection, open_vector_store
from medkb.sync.apply import related_nodes, vector_record
from medkb.sync.repair import repair
from medkb.sync.verify import VerifyReport

#: Called after each embedded batch with (pairs embedded so far, pairs still stale).
ReembedHook = Callable[[int, int], None]
#: Switch attempts before giving up on a knowledge base that never stops being written.
SWITCH_ATTEMPTS = 20


@dataclass
class ReembedReport:
    """What ``medkb reembed`` did."""

    old_model: str
    new_model: str
    embedder: str
    collection: str
    old_collection: str = ""
    embedded: int = 0
    swept: int = 0
    seconds: float = 0.0
    reports: list[VerifyReport] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Whether the new collection verifies clean for every tenant."""
        return all_clean(self.reports)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "old_model": self.old_model,
            "new_model": self.new_model,
            "collection": self.collection,
            "old_collection": self.old_collection,
            "embedded": self.embedded,
            "swept": self.swept,
            "seconds": round(self.seconds, 3),
            "clean": self.clean,
            "verify": drift_view(self.reports),
            "settings": {"MEDKB_EMBEDDER": self.embedder},
        }


@dataclass
class _Job:
    settings: Settings
    engine: sa.Engine
    embedder: Embedder
    batch_size: int
    on_batch: ReembedHook | None

    def store(self, collection: str, dimension: int) -> VectorStore:
        return open_vector_store(
            self.settings.resolved_vector_url(),
            dimension=dimension,
            home=self.settings.home,
            database_url=self.settings.resolved_database_url(),
            collection=collection,
        )

    def drop(self, collection: str, dimension: int) -> None:
        drop_vector_collection(
            self.settings.resolved_vector_url(),
            dimension=dimension,
            home=self.settings.home,
            database_url=self.settings.resolved_database_url(),
            collection=collection,
        )


def reembed(
    settings: Settings,
    *,
    embedder: str,
    batch_size: int = 64,
    on_batch: ReembedHook | None = None,
) -> ReembedReport:
    """Re-embed the knowledge base ``settings`` describe with ``embedder``; switch to it.

    Raises:
        InputError: the knowledge base already uses that model, or ``batch_size`` < 1.
        ConfigError: unknown embedder name.
        RelationalStoreError: writes never paused long enough to switch; run it again.
        VectorStoreError: the vector store failed; run it again, it resumes.
    """
    started = time.perf_counter()
    if batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, not {batch_size}.")
    model = open_embedder(embedder, cache_dir=settings.cache_dir, device=settings.device)
    engine = _open_existing(settings)
    try:
        job = _Job(settings, engine, model, batch_size, on_batch)
        report = _run(job, embedder)
    finally:
        engine.dispose()
    report.seconds = time.perf_counter() - started
    return report


def _open_existing(settings: Settings) -> sa.Engine:
    """An engine on the existing knowledge base of ``settings``, its schema brought up to date.

    Raises:
        NotFound: there is no SQLite file where the settings point.
    """
    url = settings.resolved_database_url()
    path = sa.make_url(url).database if url.startswith("sqlite") else None
    if path and path != ":memory:" and not Path(path).exists():
        raise NotFound(
            f"No knowledge base at {path}: there is nothing to re-embed. Point --home "
            "(MEDKB_HOME) or MEDKB_DATABASE_URL at the knowledge base."
        )
    engine = relational.make_engine(url)
    try:
        relational.upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _run(job: _Job, name: str) -> ReembedReport:
    with job.engine.begin() as conn:
        info = staging.read_info(conn)
    if "embedding_model" not in info:
        raise InputError("This knowledge base has no pairs yet; set MEDKB_EMBEDDER instead.")
    if info["embedding_model"] == job.embedder.model_id:
        if staging.RETIRED_COLLECTION not in info and not _has_foreign(job):
            raise InputError(
                f"This knowledge base already uses {job.embedder.model_id!r}; nothing to do."
            )
        return _finish(job, name, old_model="(switched earlier)")
    collection = _prepare(job, info)
    report = ReembedReport(
        old_model=info["embedding_model"],
        new_model=job.embedder.model_id,
        embedder=name,
        collection=collection,
    )
    store = job.store(collection, job.embedder.dimension)
    try:
        report.embedded = _build(job, store)
    finally:
        store.close()
    finished = _finish(job, name, old_model=report.old_model)
    finished.embedded += report.embedded
    return finished


def _has_foreign(job: _Job) -> bool:
    """Whether a process on the old model wrote pairs after the switch."""
    with job.engine.connect() as conn:
        return bool(staging.foreign_vectors(conn, model_id=job.embedder.model_id, limit=1))


def _prepare(job: _Job, info: dict[str, str]) -> str:
    """The collection to build into: the one a matching earlier run started, or a new one."""
    if info.get(staging.TARGET_MODEL) == job.embedder.model_id:
        return info[staging.TARGET_COLLECTION]
    abandoned = info.get(staging.TARGET_COLLECTION)
    if abandoned:  # an unfinished re-embed to another model: start over
        job.drop(abandoned, _stored_dimension(job.engine, fallback=job.embedder.dimension))
    generation = int(info.get("vector_generation", "1")) + 1
    collection = f"{COLLECTION}_g{generation}"
    with job.engine.begin() as conn:
        staging.clear_staged(conn)
        staging.set_info(
            conn,
            {
                staging.TARGET_MODEL: job.embedder.model_id,
                staging.TARGET_COLLECTION: collection,
                "vector_generation": str(generation),
            },
        )
    return collection


def _stored_dimension(engine: sa.Engine, *, fallback: int) -> int:
    with engine.connect() as conn:
        row = conn.execute(sa.select(embeddings_next.c.dimension).limit(1)).first()
    return int(row[0]) if row else fallback


def _build(job: _Job, store: VectorStore) -> int:
    """Embed until nothing is stale, then switch; return pairs embedded."""
    embedded = _catch_up(job, store)
    for _ in range(SWITCH_ATTEMPTS):
        _drop_extra(job.engine, store)
        with job.engine.begin() as conn:
            switched = staging.switch(
                conn,
                model_id=job.embedder.model_id,
                dimension=job.embedder.dimension,
                collection=_target_collection(conn),
            )
        if switched is not None:
            return embedded
        embedded += _catch_up(job, store)
    raise RelationalStoreError(
        f"Pairs kept changing during {SWITCH_ATTEMPTS} attempts to switch models. Run "
        "'medkb reembed' again at a quieter time; it resumes where it stopped."
    )


def _target_collection(conn: sa.Connection) -> str:
    return staging.read_info(conn)[staging.TARGET_COLLECTION]


def _catch_up(job: _Job, store: VectorStore) -> int:
    """Embed stale pairs batch by batch until none is left; return how many."""
    done = 0
    while True:
        with job.engine.connect() as conn:
            stale = staging.stale_pairs(conn, limit=job.batch_size)
            if not stale:
                return done
            batch, related = _load(conn, stale)
        _embed_batch(job, store, batch, related, hashes={i: h for i, _, h in stale})
        done += len(batch)
        if job.on_batch is not None:
            with job.engine.connect() as conn:
                job.on_batch(done, staging.stale_count(conn))


def _load(
    conn: sa.Connection, stale: Sequence[tuple[str, str, str]]
) -> tuple[list[QAPair], dict[str, list[str]]]:
    """The pairs (read after their hashes, so a concurrent write only makes them stale)."""
    found: dict[str, QAPair] = {}
    for tenant in {tenant for _, tenant, _ in stale}:
        ids = [qa_id for qa_id, owner, _ in stale if owner == tenant]
        found.update(pairs.get_pairs(conn, ids, tenant_id=tenant))
    batch = [found[qa_id] for qa_id, _, _ in stale if qa_id in found]
    return batch, related_nodes(conn, list(found))


def _embed_batch(
    job: _Job,
    store: VectorStore,
    batch: list[QAPair],
    related: dict[str, list[str]],
    *,
    hashes: dict[str, str],
) -> None:
    """Vectors first into the new collection, then staged: a crash between the two only
    leaves the pair stale, to be embedded again."""
    if not batch:
        return
    vectors = embed_pairs(job.embedder, batch)
    store.upsert(
        [
            vector_record(p, v, related.get(p.id, []), limits=copy_limits(store))
            for p, v in zip(batch, vectors, strict=True)
        ]
    )
    new_hashes = {p.id: pairs.content_hash(p, job.embedder.model_id) for p in batch}
    with job.engine.begin() as conn:
        staging.stage(conn, batch, vectors, source_hashes=hashes, new_hashes=new_hashes)


def _drop_extra(engine: sa.Engine, store: VectorStore) -> None:
    """Remove records of pairs deleted while the new collection was built."""
    with engine.connect() as conn:
        alive = set(conn.execute(sa.select(qa.c.id)).scalars())
    gone = [qa_id for qa_id in store.ids() if qa_id not in alive]
    if gone:
        store.delete(gone)


def _finish(job: _Job, name: str, *, old_model: str) -> ReembedReport:
    """After the switch: sweep old-model writes, repair and verify, drop the old collection."""
    with job.engine.connect() as conn:
        info = staging.read_info(conn)
    collection = info.get("vector_collection", COLLECTION)
    report = ReembedReport(
        old_model=old_model, new_model=job.embedder.model_id, embedder=name, collection=collection
    )
    store = job.store(collection, job.embedder.dimension)
    try:
        report.swept = _sweep(job, store)
        with job.engine.connect() as conn:
            tenant_ids = sorted(set(conn.execute(sa.select(qa.c.tenant_id).distinct()).scalars()))
        report.reports = [repair(job.engine, store, tenant_id=t).after for t in tenant_ids]
    finally:
        store.close()
    retired = info.get(staging.RETIRED_COLLECTION)
    if retired:
        job.drop(retired, int(info[staging.RETIRED_DIMENSION]))
        with job.engine.begin() as conn:
            staging.set_info(
                conn, {staging.RETIRED_COLLECTION: None, staging.RETIRED_DIMENSION: None}
            )
        report.old_collection = retired
    return report


def _sweep(job: _Job, store: VectorStore) -> int:
    """Re-embed pairs an old-model process wrote after the switch; return how many."""
    swept, seen = 0, set[str]()
    while True:
        with job.engine.connect() as conn:
            foreign = staging.foreign_vectors(
                conn, model_id=job.embedder.model_id, limit=job.batch_size
            )
            found = _pairs_by_tenant(conn, foreign)
        if not foreign or seen.issuperset(qa_id for qa_id, _ in foreign):
            return swept  # nothing left, or only pairs a writer keeps rewriting: repair next
        seen.update(qa_id for qa_id, _ in foreign)
        for tenant, batch in found.items():
            writer = Writer(
                engine=job.engine,
                store=store,
                embedder=job.embedder,
                graph=job.settings.graph,
                tenant_id=tenant,
            )
            writer.upsert(batch)
        swept += len(foreign)


def _pairs_by_tenant(
    conn: sa.Connection, ids: Sequence[tuple[str, str]]
) -> dict[str, list[QAPair]]:
    grouped: dict[str, list[QAPair]] = {}
    for tenant in {tenant for _, tenant in ids}:
        found = pairs.get_pairs(conn, [i for i, t in ids if t == tenant], tenant_id=tenant)
        grouped[tenant] = list(found.values())
    return grouped
