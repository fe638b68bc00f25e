"""``medkb import``: read medkb's own export back into a knowledge base.

Three passes over the file, each streaming in batches (constant memory):

1. **check** every record (:func:`medkb.transfer.decode.decode`); a malformed line stops
   the import before anything is written, naming the line;
2. **write** the pairs through the one write path, :meth:`Writer.upsert` (validation,
   content hashes, sources, embeddings, outbox rows). Exported vectors of the KB's own
   embedding model are reused; vectors of another model are ignored and the pair is
   re-embedded (counted in ``reembedded``). The writer's own linking is switched off:
3. **link**: each pair's outgoing relations are set to exactly those in the file (edges
   to pairs that are not in the knowledge base are dropped and counted), its created/updated
   timestamps are restored, and an outbox row is queued so ``related_nodes`` follow.

With the ``realtime`` strategy the outbox is applied at the end; otherwise the worker
applies it. Pairs land in the knowledge base's tenant, whatever ``tenant_id`` the file says.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

import sqlalchemy as sa

from medkb.app import KnowledgeBase
from medkb.config import GraphSettings
from medkb.errors import InputError, SyncPending, VectorStoreError
from medkb.ingest.writer import Writer
from medkb.stores.relational import outbox, pairs
from medkb.stores.relational.relations import relation_row
from medkb.stores.relational.schema import qa, relations
from medkb.sync.apply import utcnow
from medkb.transfer.decode import Item, decode, fail
from medkb.transfer.readers import detect_format, read_records

Progress = Callable[[str, int, int], None]


@dataclass
class ImportReport:
    """What an import did."""

    path: str
    format: str
    pairs: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    reembedded: int = 0
    relations: int = 0
    dropped_relations: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return asdict(self)


def import_file(
    kb: KnowledgeBase,
    path: Path,
    *,
    fmt: str | None = None,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a ``medkb export`` file (JSONL, JSON, CSV or parquet) into ``kb``."""
    started = time.perf_counter()
    fmt = detect_format(path, fmt)
    report = ImportReport(path=str(path), format=fmt)
    report.pairs = check_file(path, fmt, kb=kb)
    writer = Writer(
        engine=kb.engine,
        store=kb.store,
        embedder=kb.embedder,
        graph=GraphSettings(similar_k=0),
        tenant_id=kb.tenant_id,
        realtime=False,
        on_change=kb.writer.on_change,  # cached answers citing imported pairs are dropped
    )
    for done, items in _batches(path, fmt, batch_size):
        _write(writer, items, report)
        _notify(progress, "write", done, report.pairs)
    for done, items in _batches(path, fmt, batch_size):
        _link(kb.engine, items, tenant_id=kb.tenant_id, report=report)
        _notify(progress, "link", done, report.pairs)
    if kb.writer.realtime:
        _apply(kb)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def check_file(path: Path, fmt: str, *, kb: KnowledgeBase) -> int:
    """Decode every record without writing; return how many there are.

    Also refuses vectors of the KB's model with another dimension, and ids that another
    tenant of this database already uses (the writer would stop half-way on them).
    """
    count, records = 0, read_records(path, fmt)
    while chunk := list(islice(records, 500)):
        places = {}
        for where, record in chunk:
            item = decode(record, where=where)
            _check_dimension(item, where, kb=kb)
            places[item.pair.id] = where
        _check_tenants(kb, places)
        count += len(chunk)
    if count == 0:
        raise InputError(f"{path.name} holds no pairs; give a 'medkb export' file.")
    return count


def _check_tenants(kb: KnowledgeBase, places: dict[str, str]) -> None:
    with kb.engine.connect() as conn:
        known = pairs.existing_hashes(conn, list(places))
    for qa_id, (tenant, _) in sorted(known.items()):
        if tenant != kb.tenant_id:
            raise fail(
                places[qa_id],
                f"pair id {qa_id!r} belongs to tenant {tenant!r} in this database; import "
                "into that tenant (MEDKB_TENANT) or change the id",
            )


def _check_dimension(item: Item, where: str, *, kb: KnowledgeBase) -> None:
    vectors = item.embeddings
    if vectors is None or vectors.model_id != kb.embedder.model_id:
        return
    if vectors.question.shape[0] != kb.embedder.dimension:
        raise fail(
            where,
            f"its {vectors.model_id} embeddings have {vectors.question.shape[0]} dimensions, "
            f"but this knowledge base's have {kb.embedder.dimension}",
        )


def _batches(path: Path, fmt: str, size: int) -> Iterator[tuple[int, list[Item]]]:
    records = read_records(path, fmt)
    done = 0
    while batch := list(islice(records, size)):
        done += len(batch)
        yield done, [decode(record, where=where) for where, record in batch]


def _write(writer: Writer, items: Sequence[Item], report: ImportReport) -> None:
    own = writer.embedder.model_id
    known = {
        i.pair.id: i.embeddings for i in items if i.embeddings and i.embeddings.model_id == own
    }
    report.reembedded += sum(1 for i in items if i.embeddings and i.pair.id not in known)
    result = writer.upsert([item.pair for item in items], embeddings=known)
    report.created += len(result.created)
    report.updated += len(result.updated)
    report.unchanged += len(result.unchanged)


def _link(
    engine: sa.Engine, items: Sequence[Item], *, tenant_id: str, report: ImportReport
) -> None:
    """Set each pair's outgoing relations and timestamps as the file has them."""
    now, ids = utcnow(), [item.pair.id for item in items]
    edges = {(r.source_id, r.target_id, r.type): r for i in items for r in i.relations}
    with engine.begin() as conn:
        known = pairs.existing_hashes(conn, sorted({key[1] for key in edges}))
        alive = {qa_id for qa_id, (tenant, _) in known.items() if tenant == tenant_id}
        kept = [r for r in edges.values() if r.target_id in alive and r.target_id != r.source_id]
        conn.execute(relations.delete().where(relations.c.source_id.in_(ids)))
        if kept:
            conn.execute(relations.insert(), [relation_row(r, tenant_id, now) for r in kept])
        _restore_timestamps(conn, items)
        outbox.enqueue(conn, ids, tenant_id=tenant_id, op="upsert", now=now)
    report.relations += len(kept)
    report.dropped_relations += sum(len(i.relations) for i in items) - len(kept)


def _restore_timestamps(conn: sa.Connection, items: Sequence[Item]) -> None:
    rows = [
        {"b_id": item.pair.id, "created_at": item.created_at, "updated_at": item.updated_at}
        for item in items
        if item.created_at is not None and item.updated_at is not None
    ]
    if rows:
        conn.execute(qa.update().where(qa.c.id == sa.bindparam("b_id")), rows)


def _apply(kb: KnowledgeBase) -> None:
    try:
        kb.sync()
    except VectorStoreError as exc:
        raise SyncPending(
            f"The import is committed to the relational store, but the vector store failed: "
            f"{exc} The changes wait in the outbox; run 'medkb sync repair' once it is back.",
            pending_ids=[],
        ) from exc


def _notify(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)
