"""Writing pairs: embed, link, commit (with outbox rows) in one transaction, then sync.

Used by ingestion, updates and deletes alike, so every write takes the same path
(DESIGN "Consistency"): a batch is committed whole or not at all, and the vector store is
brought up to date from the outbox afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from medkb import telemetry
from medkb.config import GraphSettings
from medkb.embed.base import Embedder
from medkb.errors import FieldTooLong, InputError, SyncPending, VectorStoreError
from medkb.graph import linking
from medkb.graph.index import LinkIndex
from medkb.models import (
    MAX_ID_CHARS,
    MAX_KEY_BYTES,
    MAX_LANGUAGE_CHARS,
    MAX_TENANT_CHARS,
    MAX_TEXT_CHARS,
    Embeddings,
    QAPair,
    Relation,
)
from medkb.stores.relational import logs, outbox, pairs, relations
from medkb.stores.relational.outbox import DEFAULT_LEASE_S
from medkb.stores.vector.base import VectorStore
from medkb.sync.apply import Clock, apply_ids, drain, utcnow

#: Called after a commit with the touched ids and whether a pair was created.
Changed = Callable[[set[str], bool], None]


@dataclass
class WriteResult:
    """What one write did, by pair id."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def merge(self, other: WriteResult) -> None:
        """Add ``other``'s ids to this result."""
        for name in ("created", "updated", "unchanged", "deleted"):
            getattr(self, name).extend(getattr(other, name))


def check_lengths(pair: QAPair) -> None:
    """Refuse a pair some store cannot hold, naming the pair, the field, its size and the limit.

    Checked before anything is written, so a refused pair leaves no trace in either store:

    - question and response: at most :data:`~medkb.models.MAX_TEXT_CHARS`. Longer than the
      SPEC's 5,000 / 10,000 is fine: the relational store keeps the whole text and a vector
      backend with smaller fields keeps a cut copy (:mod:`medkb.stores.vector.fit`);
    - id, tenant id, language: the relational key columns' sizes;
    - the filterable metadata values (category, source, source type, language): 1,024 UTF-8
      bytes, the size of Milvus's VARCHAR fields for them.

    Raises:
        InputError: an empty question, response or id.
        FieldTooLong: a field over its limit.
    """
    if not pair.question.strip() or not pair.response.strip():
        raise InputError(f"Pair {pair.id!r} has an empty question or response; give both.")
    if not pair.id.strip():
        raise InputError("A pair has an empty id; give every pair an id (or let medkb derive one).")
    for name, text, limit in (
        ("id", pair.id, MAX_ID_CHARS),
        ("tenant id", pair.tenant_id, MAX_TENANT_CHARS),
        ("language", pair.metadata.language, MAX_LANGUAGE_CHARS),
        ("question", pair.question, MAX_TEXT_CHARS),
        ("response", pair.response, MAX_TEXT_CHARS),
    ):
        if len(text) > limit:
            raise FieldTooLong(
                f"Pair {_short(pair.id)}: the {name} has {len(text):,} characters; the limit "
                f"is {limit:,}. {_SHORTEN_HINT[name]}"
            )
    for key, value in pair.metadata.basic().items():
        size = len(value.encode("utf-8"))
        if size > MAX_KEY_BYTES:
            raise FieldTooLong(
                f"Pair {_short(pair.id)}: the {key} has {size:,} bytes in UTF-8; the limit is "
                f"{MAX_KEY_BYTES:,} (a filterable field of the vector store). Give a shorter "
                f"{key}, or move the long text to another metadata field."
            )


_SHORTEN_HINT = {
    "id": "Give the pair a shorter id.",
    "tenant id": "Use a shorter tenant id.",
    "language": "Give a language code such as 'en' or 'pt-BR'.",
    "question": "Shorten it.",
    "response": "Split it into several pairs.",
}


def _short(qa_id: str, keep: int = 60) -> str:
    """A pair id for messages: quoted, and cut when it is itself too long to read."""
    return repr(qa_id) if len(qa_id) <= keep else repr(qa_id[:keep]) + "…"


def embed_pairs(
    embedder: Embedder, batch: Sequence[QAPair], *, known: Mapping[str, Embeddings] | None = None
) -> list[Embeddings]:
    """The three embeddings of each pair, from one embedder call.

    ``known`` vectors made by this embedder's model (an import of medkb's own export) are
    reused as they are; every other pair is embedded.
    """
    reuse = {k: v for k, v in (known or {}).items() if v.model_id == embedder.model_id}
    todo = [pair for pair in batch if pair.id not in reuse]
    fresh = dict(zip([p.id for p in todo], _embed(embedder, todo), strict=True)) if todo else {}
    return [reuse[p.id] if p.id in reuse else fresh[p.id] for p in batch]


def _embed(embedder: Embedder, batch: Sequence[QAPair]) -> list[Embeddings]:
    texts = [p.question for p in batch] + [p.response for p in batch]
    texts += [f"{p.question}\n{p.response}" for p in batch]
    matrix = embedder.embed(texts)
    n = len(batch)
    return [
        Embeddings(matrix[i], matrix[n + i], matrix[2 * n + i], embedder.model_id) for i in range(n)
    ]


class Writer:
    """Applies writes to both stores for one tenant."""

    def __init__(
        self,
        *,
        engine: sa.Engine,
        store: VectorStore,
        embedder: Embedder,
        graph: GraphSettings,
        tenant_id: str,
        realtime: bool = True,
        clock: Clock = utcnow,
        wait_s: float = DEFAULT_LEASE_S,
        on_change: Changed | None = None,
        link_index: bool = True,
    ) -> None:
        self.engine, self.store, self.embedder = engine, store, embedder
        self.graph, self.tenant_id, self.realtime, self.clock = graph, tenant_id, realtime, clock
        self.wait_s = wait_s  # realtime: how long to wait for ids a sync worker holds
        #: Told the ids each committed write touched (pairs and re-linked neighbours) and
        #: whether it created a pair; the answer cache drops what cites them.
        self.on_change = on_change
        #: The tenant's stored vectors in memory (``graph.index``), so linking a batch does
        #: not read the whole table again; ``link_index=False`` scans the table each time.
        self.index = LinkIndex(tenant_id) if link_index else None

    def upsert(
        self, batch: Sequence[QAPair], *, embeddings: Mapping[str, Embeddings] | None = None
    ) -> WriteResult:
        """Create or update pairs; unchanged pairs are left alone.

        ``embeddings`` (by pair id) are reused instead of re-embedding when they come from
        this writer's embedding model.
        """
        batch = _last_per_id(batch)
        for pair in batch:
            pair.tenant_id = self.tenant_id
            check_lengths(pair)
        changed, result = self._split_unchanged(batch)
        if changed:
            vectors = embed_pairs(self.embedder, changed, known=embeddings)
            with self._index_lock():
                similar = self._similar(changed, vectors)
                touched = self._commit(changed, vectors, similar, existing=result.updated)
            self._changed(touched, created=len(changed) > len(result.updated))
            self._sync(touched)
        return result

    def delete(self, ids: Sequence[str]) -> WriteResult:
        """Delete pairs, their relations, and their id from every ``related_nodes``."""
        now = self.clock()
        with (
            self._index_lock(),
            telemetry.span("relational.delete", **{"medkb.ids": len(ids)}),
            self.engine.begin() as conn,
        ):
            neighbours = relations.neighbour_ids(conn, ids, tenant_id=self.tenant_id)
            deleted = pairs.delete_pairs(conn, ids, tenant_id=self.tenant_id)
            touched = (set(deleted) | neighbours) if deleted else set()
            if deleted and self.index is not None:
                self.index.remove(deleted)  # a rollback leaves a count the next batch notices
            if deleted:
                touched |= self._relink(conn, neighbours - set(deleted), now=now)
            outbox.enqueue(conn, touched, tenant_id=self.tenant_id, op="delete", now=now)
            if deleted:
                logs.bump(conn, tenant_id=self.tenant_id, now=now, deleted_count=len(deleted))
        self._changed(touched, created=False)
        self._sync(touched)
        return WriteResult(deleted=deleted)

    def _index_lock(self) -> AbstractContextManager[object]:
        """Held from linking to commit, so threads sharing this writer keep its index whole."""
        return self.index.lock if self.index is not None else nullcontext()

    def _changed(self, touched: set[str], *, created: bool) -> None:
        if self.on_change is not None and (touched or created):
            self.on_change(touched, created)

    def _relink(self, conn: sa.Connection, ids: set[str], *, now: datetime) -> set[str]:
        """Link the former neighbours of deleted pairs to their nearest pairs again."""
        links = linking.similarity_links(
            conn,
            tenant_id=self.tenant_id,
            changed={},
            relink=ids,
            k=self.graph.similar_k,
            threshold=self.graph.similar_threshold,
            index=self.index,
        )
        relations.add_missing(conn, links, tenant_id=self.tenant_id, now=now)
        return {r.source_id for r in links} | {r.target_id for r in links}

    def ids_from_document(
        self, document: str, *, source_type: str, object_key: str | None = None
    ) -> set[str]:
        """Ids of this tenant's pairs parsed from the free document ``document``
        (from the raw object ``object_key`` only, when given)."""
        with self.engine.connect() as conn:
            return pairs.ids_from_document(
                conn,
                document,
                source_type=source_type,
                tenant_id=self.tenant_id,
                object_key=object_key,
            )

    def _split_unchanged(self, batch: Sequence[QAPair]) -> tuple[list[QAPair], WriteResult]:
        with self.engine.connect() as conn:
            known = pairs.existing_hashes(conn, [p.id for p in batch])
        result, changed = WriteResult(), []
        for pair in batch:
            tenant, digest = known.get(pair.id, (self.tenant_id, None))
            if tenant != self.tenant_id:
                # Never name the other tenant: a caller must not learn who else is here.
                raise InputError(f"Pair id {pair.id!r} is not available; give the pair another id.")
            if digest == pairs.content_hash(pair, self.embedder.model_id):
                result.unchanged.append(pair.id)
                continue
            (result.updated if digest else result.created).append(pair.id)
            changed.append(pair)
        return changed, result

    def _similar(self, batch: Sequence[QAPair], vectors: Sequence[Embeddings]) -> list[Relation]:
        """``similar_to`` links of the batch, from the relational store's embeddings: pairs
        written moments ago count even before the vector store has them."""
        if self.graph.similar_k == 0:
            return []
        ids = [p.id for p in batch]
        with self.engine.connect() as conn:
            return linking.similarity_links(
                conn,
                tenant_id=self.tenant_id,
                changed={p.id: v.combined for p, v in zip(batch, vectors, strict=True)},
                relink=relations.neighbour_ids(conn, ids, tenant_id=self.tenant_id),
                k=self.graph.similar_k,
                threshold=self.graph.similar_threshold,
                index=self.index,
            )

    def _commit(
        self,
        batch: Sequence[QAPair],
        vectors: Sequence[Embeddings],
        similar: list[Relation],
        *,
        existing: Sequence[str],
    ) -> set[str]:
        now = self.clock()
        ids = [p.id for p in batch]
        with (
            telemetry.span("relational.write", **{"medkb.pairs": len(batch)}),
            self.engine.begin() as conn,
        ):
            pairs.ensure_tenant(conn, self.tenant_id, now=now)
            before = relations.neighbour_ids(conn, ids, tenant_id=self.tenant_id)
            pairs.write_pairs(conn, batch, vectors, existing=existing, now=now)
            links = self._relations(conn, batch, similar)
            relations.replace_derived(conn, ids, links, tenant_id=self.tenant_id, now=now)
            touched = (
                set(ids) | before | {r.target_id for r in links} | {r.source_id for r in links}
            )
            outbox.enqueue(conn, touched, tenant_id=self.tenant_id, op="upsert", now=now)
            logs.bump(
                conn,
                tenant_id=self.tenant_id,
                now=now,
                ingested_count=len(batch) - len(existing),
                updated_count=len(existing),
            )
        self._hold(batch, vectors, now=now)
        return touched

    def _hold(
        self, batch: Sequence[QAPair], vectors: Sequence[Embeddings], *, now: datetime
    ) -> None:
        """Add a committed batch to the index (once it is loaded: loading reads it anyway)."""
        if self.index is None or self.index.stamp is None:
            return
        written = list(zip(batch, vectors, strict=True))
        self.index.put(
            {p.id: v.combined for p, v in written},
            {p.id: pairs.content_hash(p, v.model_id) for p, v in written},
            stamp=now,
        )

    def _relations(
        self,
        conn: sa.Connection,
        batch: Sequence[QAPair],
        similar: list[Relation],
    ) -> list[Relation]:
        links = similar + linking.metadata_relations(conn, batch)
        alive = set(pairs.existing_hashes(conn, sorted({r.target_id for r in links})))
        return [r for r in links if r.target_id in alive and r.source_id in alive]

    def _sync(self, touched: set[str]) -> None:
        """``realtime``: apply the touched ids (then any other due rows) before returning.

        An id a sync worker holds is waited for (at most a lease time) rather than
        reported as failed; ``eventual`` / ``batch`` return once committed.
        """
        if not self.realtime or not touched:
            return
        with telemetry.span("vector.apply", **{"medkb.ids": len(touched)}):
            self._apply(touched)

    def _apply(self, touched: set[str]) -> None:
        try:
            left = apply_ids(self.engine, self.store, touched, clock=self.clock, wait_s=self.wait_s)
            if not left.held:
                drain(self.engine, self.store, clock=self.clock)
        except VectorStoreError as exc:
            raise SyncPending(
                f"{len(touched)} pair(s) are committed to the relational store, but the vector "
                f"store failed: {exc} They are kept in the outbox and will be applied by the "
                "next write or by 'medkb sync repair' once the vector store is back.",
                pending_ids=sorted(touched),
            ) from exc
        if left.failed:
            first = min(left.failed)
            raise SyncPending(
                f"{len(left.failed)} pair(s) are committed to the relational store, but the "
                f"vector store rejected them ({first}: {left.failed[first]}). The others are "
                "synced. 'medkb sync status' lists the failed ids with the reason; once the "
                "cause is fixed (e.g. 'medkb update'), they sync.",
                pending_ids=sorted(left.failed),
            )
        if left.held:
            owners = ", ".join(sorted({owner for owner in left.held.values() if owner})) or "none"
            raise SyncPending(
                f"{len(left.held)} pair(s) are committed to the relational store, but after "
                f"{self.wait_s:g} s a sync worker still holds them (lease owner: {owners}). "
                "That worker applies them; 'medkb sync status' shows when they are synced.",
                pending_ids=sorted(left.held),
            )


def _last_per_id(batch: Sequence[QAPair]) -> list[QAPair]:
    """Keep the last occurrence of each id, so one batch never writes an id twice."""
    return list({pair.id: pair for pair in batch}.values())
