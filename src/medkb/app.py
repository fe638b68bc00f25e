"""Composition: ``build(settings)`` wires stores, embedder and services into a
:class:`KnowledgeBase`, the one object the CLI, the API and Python callers use.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from medkb.config import Settings
from medkb.embed.base import Embedder
from medkb.embed.registry import EMBEDDER_NAMES, open_embedder
from medkb.errors import ConfigError, EmbedderMismatch, InputError, NotFound
from medkb.graph.traversal import Edge, expand
from medkb.ingest.loaders import OVERLONG_MODES, Overlong
from medkb.models import FILTERABLE_KEYS, QAMetadata, QAPair
from medkb.search.pii import redact_pii
from medkb.stores.relational import browse, logs, outbox, pairs, relations
from medkb.stores.relational import engine as relational
from medkb.stores.relational.behaviour import EventHit, similar_events, utc
from medkb.stores.relational.schema import kb_info
from medkb.stores.vector.base import COLLECTION, VectorStore
from medkb.stores.vector.registry import COLLECTION_KEY, open_vector_store
from medkb.sync.apply import drain, utcnow
from medkb.sync.verify import SyncStatus, VerifyReport, verify
from medkb.sync.verify import status as sync_status

if TYPE_CHECKING:
    from medkb.ingest.pipeline import Ingestor, IngestReport, Progress
    from medkb.ingest.writer import Writer, WriteResult
    from medkb.resilience.breaker import CircuitBreaker
    from medkb.search.cached import CachedAnswers
    from medkb.search.results import QueryResult
    from medkb.search.service import QueryOptions, Searcher
    from medkb.stores.cache.base import AnswerCache

#: ``medkb update --set KEY=VALUE`` keys stored as columns; any other key goes to ``extra``.
_METADATA_FIELDS = {f.name for f in dataclasses.fields(QAMetadata)} - {"extra"}


class KnowledgeBase:
    """One tenant's view of a medkb knowledge base: ingest, query, get, update, delete."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: sa.Engine,
        store: VectorStore,
        embedder: Embedder,
        owns_stores: bool = True,
        answers: AnswerCache | None = None,
        breakers: Mapping[str, CircuitBreaker] | None = None,
    ) -> None:
        self.settings, self.engine, self.store, self.embedder = settings, engine, store, embedder
        self.owns_stores = owns_stores
        self.tenant_id = settings.tenant
        self.answers = answers  # shared by every tenant view; keys are per tenant
        #: The circuit breakers of :func:`guard_dependencies`, shared by every tenant view
        #: (empty for an unguarded knowledge base); "llm" and "object_store" are used here.
        self.breakers: dict[str, CircuitBreaker] = dict(breakers or {})

    # The writer, ingestor and searcher are made on first use: `stats`, `get` and the
    # admin commands need none of them, nor the answer and triage tables they load.

    @cached_property
    def writer(self) -> Writer:
        """The one write path (:mod:`medkb.ingest.writer`); with an answer cache, every
        write drops the answers citing what it touched."""
        from medkb.ingest.writer import Writer

        writer = Writer(
            engine=self.engine,
            store=self.store,
            embedder=self.embedder,
            graph=self.settings.graph,
            tenant_id=self.tenant_id,
            realtime=self.settings.sync_strategy == "realtime",
            wait_s=self.settings.sync.lease_s,
        )
        if self.cached is not None:
            writer.on_change = self.cached.forget
        return writer

    @cached_property
    def ingestor(self) -> Ingestor:
        """Files and folders → the writer (:mod:`medkb.ingest.pipeline`)."""
        from medkb.ingest.pipeline import Ingestor
        from medkb.stores.objects.local import LocalObjectStore

        objects = LocalObjectStore(self.settings.resolved_object_dir())
        breaker = self.breakers.get("object_store")
        if breaker is not None:
            from medkb.resilience.guard import guarded
            from medkb.resilience.retry import policy

            retries = policy(self.settings.resilience.policy_name("object_store"))
            objects = guarded(objects, breaker=breaker, policy=retries)
        return Ingestor(
            writer=self.writer,
            objects=objects,
            batch_size=self.settings.ingest.batch_size,
            max_file_bytes=int(self.settings.ingest.max_file_mb * 1e6),
        )

    @cached_property
    def searcher(self) -> Searcher:
        """The query flow with its answerer (:mod:`medkb.search.service`)."""
        from medkb.answer.compose import Answerer
        from medkb.search.service import Searcher

        settings = self.settings
        return Searcher(
            engine=self.engine,
            store=self.store,
            embedder=self.embedder,
            settings=settings.search,
            tenant_id=self.tenant_id,
            answerer=Answerer(
                settings.answer,
                embedder=settings.embedder,
                encoder=self.embedder,
                breaker=self.breakers.get("llm"),
            ),
            redact_logs=settings.privacy.redact_query_logs,
        )

    @cached_property
    def cached(self) -> CachedAnswers | None:
        """The searcher behind the answer cache (``None`` without one)."""
        if self.answers is None:
            return None
        from medkb.search.cached import CachedAnswers

        return CachedAnswers(self.searcher, self.answers, model_id=self.embedder.model_id)

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release connections, files and threads (a tenant view: only its own threads)."""
        if "searcher" in self.__dict__:  # made on first use
            self.searcher.close()
        if self.owns_stores:
            self.store.close()
            self.engine.dispose()
            if self.answers is not None:
                self.answers.close()

    def for_tenant(self, tenant_id: str) -> KnowledgeBase:
        """Another tenant's view sharing this one's engine, vector store and embedder.

        The view is cheap (no connection or model is opened) and must be closed; closing
        it leaves the shared stores open. Used by the API, which serves many tenants in
        one process through the same methods the CLI calls.
        """
        settings = self.settings.model_copy(update={"tenant": tenant_id})
        return KnowledgeBase(
            settings,
            engine=self.engine,
            store=self.store,
            embedder=self.embedder,
            owns_stores=False,
            answers=self.answers,
            breakers=self.breakers,
        )

    def ingest(
        self,
        paths: Sequence[Path | str],
        *,
        progress: Progress | None = None,
        overlong: Overlong = "keep",
        source_id: str | None = None,
    ) -> IngestReport:
        """Ingest files and folders (JSONL/CSV, MedQuAD XML, PDF, DOCX, HTML, Markdown, text).

        A document is identified by its path relative to the folder given (a file given
        by itself: its name), or by ``source_id``; see
        :func:`~medkb.ingest.loaders.iter_documents`. ``overlong``: ``"keep"`` stores texts
        over the SPEC field limits whole, ``"error"`` refuses their file, ``"truncate"``
        cuts them.
        """
        if overlong not in OVERLONG_MODES:
            raise InputError(
                f"--overlong must be one of {', '.join(OVERLONG_MODES)}, not {overlong!r}."
            )
        if source_id is not None and not source_id.strip():
            raise InputError("--source-id is empty; give a name such as 'guidelines-2024'.")
        files = [Path(p) for p in paths]
        return self.ingestor.ingest(
            files, progress=progress, overlong=overlong, source_id=source_id
        )

    def add(self, batch: Sequence[QAPair]) -> WriteResult:
        """Create or update pairs built in Python."""
        return self.ingestor.ingest_pairs(batch)

    def query(
        self,
        text: str,
        *,
        top_k: int | None = None,
        depth: int = 1,
        filters: Mapping[str, Sequence[str]] | None = None,
        mode: str = "hybrid",
        session_id: str | None = None,
        log: bool = True,
    ) -> QueryResult:
        """Answer ``text`` from the knowledge base, with cited hits and the graph walked."""
        options = self._options(
            text, top_k=top_k, depth=depth, filters=filters, mode=mode, session_id=session_id
        )
        load_model(self.embedder)  # before the clock starts: loading is not query time
        return self.searcher.query(text, dataclasses.replace(options, log=log))

    def answer(
        self,
        text: str,
        *,
        top_k: int | None = None,
        depth: int = 1,
        filters: Mapping[str, Sequence[str]] | None = None,
        mode: str = "hybrid",
        session_id: str | None = None,
    ) -> dict[str, Any]:
        """:meth:`query`'s object (``medkb query --json``), from the answer cache when
        the same question (whitespace aside), options and embedding model were answered for this
        tenant and no pair the answer cites changed since. A cached answer is logged like
        any (its own ``query_log_id``), with ``"cached": true`` and its lookup time."""
        options = self._options(
            text, top_k=top_k, depth=depth, filters=filters, mode=mode, session_id=session_id
        )
        load_model(self.embedder)
        if self.cached is None:
            return {**self.searcher.query(text, options).to_dict(), "cached": False}
        return self.cached.answer(text, options)

    def _options(
        self,
        text: str,
        *,
        top_k: int | None,
        depth: int,
        filters: Mapping[str, Sequence[str]] | None,
        mode: str,
        session_id: str | None,
    ) -> QueryOptions:
        """The query's options, each checked (``InputError`` names what to fix)."""
        if not text.strip():
            raise InputError("The query is empty; ask a question.")
        if top_k is not None and not 1 <= top_k <= 100:
            raise InputError(f"--top-k must be between 1 and 100, not {top_k}.")
        check_filters(filters)
        if not 0 <= depth <= self.settings.graph.max_depth:
            raise InputError(f"--depth must be between 0 and {self.settings.graph.max_depth}.")
        if mode not in ("hybrid", "dense", "keyword"):
            raise InputError(f"Unknown mode {mode!r}; use hybrid, dense or keyword.")
        from medkb.search.service import QueryOptions

        return QueryOptions(
            top_k=top_k or self.settings.search.top_k,
            depth=depth,
            filters=filters,
            mode=mode,
            session_id=session_id,
        )

    def get(self, qa_id: str) -> dict[str, Any]:
        """The pair with its metadata, sources, relations and sync state."""
        with self.engine.connect() as conn:
            pair = self._pair(conn, qa_id)
            found = relations.outgoing(conn, [qa_id], tenant_id=self.tenant_id, active_only=True)
            rels = found[qa_id]
            state = outbox.sync_state(conn, qa_id)
        return {**pair.to_dict(), "relations": [r.to_dict() for r in rels], "sync": state}

    def update(
        self,
        qa_id: str,
        *,
        question: str | None = None,
        response: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Edit a pair: texts are re-embedded and its neighbourhood re-linked."""
        with self.engine.connect() as conn:
            pair = self._pair(conn, qa_id)
        pair.question = question if question is not None else pair.question
        pair.response = response if response is not None else pair.response
        for key, value in (metadata or {}).items():
            set_metadata(pair, key, value)
        return self.writer.upsert([pair])

    def delete(self, qa_id: str) -> WriteResult:
        """Delete a pair; no relation or ``related_nodes`` entry is left pointing at it."""
        result = self.writer.delete([qa_id])
        if not result.deleted:
            raise NotFound(_not_found(qa_id))
        return result

    def feedback(self, query_log_id: int, *, rating: int, comment: str | None = None) -> None:
        """Record a user's 1–5 rating of an answer."""
        if not 1 <= rating <= 5:
            raise InputError(f"Rating {rating} is out of range; give 1 to 5.")
        with self.engine.begin() as conn:
            logs.record_feedback(
                conn,
                query_log_id,
                tenant_id=self.tenant_id,
                rating=rating,
                comment=self._private(comment),
                now=utcnow(),
            )

    def list_pairs(
        self,
        *,
        filters: Mapping[str, Sequence[str]] | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> tuple[list[QAPair], str | None]:
        """A page of this tenant's pairs by id, and the id to pass as ``after`` next."""
        check_filters(filters)
        with self.engine.connect() as conn:
            return browse.page_pairs(
                conn, tenant_id=self.tenant_id, filters=filters, after=after, limit=limit
            )

    def neighbourhood(self, qa_id: str, *, depth: int = 1) -> dict[str, Any]:
        """A pair's graph neighbourhood: the nodes reached within ``depth`` hops and the
        paths reaching them (this tenant's pairs only)."""
        if not 1 <= depth <= self.settings.graph.max_depth:
            raise InputError(f"depth must be between 1 and {self.settings.graph.max_depth}.")
        with self.engine.connect() as conn:
            self._pair(conn, qa_id)
            paths = expand([qa_id], lambda ids: _edges(conn, ids, self.tenant_id), depth=depth)
            nodes = pairs.get_pairs(
                conn, [qa_id, *(p.target for p in paths)], tenant_id=self.tenant_id
            )
        return {
            "id": qa_id,
            "depth": depth,
            "nodes": [{"id": i, "question": nodes[i].question} for i in nodes],
            "paths": [
                {"nodes": list(p.nodes), "relations": list(p.relations), "confidence": p.confidence}
                for p in paths
                if p.target in nodes
            ],
        }

    def analytics(self, *, days: int = 30, top: int = 10) -> dict[str, Any]:
        """Queries per day, latency percentiles, popular pairs and feedback over ``days``."""
        if not 1 <= days <= 366 or not 1 <= top <= 100:
            raise InputError("days must be 1-366 and top 1-100.")
        with self.engine.connect() as conn:
            return browse.usage(conn, tenant_id=self.tenant_id, days=days, top=top)

    def documents(self, *, limit: int = 1000) -> list[dict[str, Any]]:
        """The documents this tenant's pairs cite, with their pair counts."""
        with self.engine.connect() as conn:
            return browse.documents(conn, tenant_id=self.tenant_id, limit=limit)

    def delete_document(self, document: str) -> WriteResult:
        """Delete every pair of this tenant whose source is ``document``."""
        with self.engine.connect() as conn:
            ids = browse.ids_citing(conn, document, tenant_id=self.tenant_id)
        if not ids:
            raise NotFound(f"No document {document!r}; GET /v1/documents lists them.")
        return self.writer.delete(ids)

    def similar_events(
        self,
        text: str,
        *,
        k: int = 10,
        user: str | None = None,
        category: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        event_type: str | None = None,
    ) -> list[EventHit]:
        """This tenant's ``behaviour.event`` interactions most like ``text``, best first.

        ``since`` is inclusive, ``until`` exclusive; a naive time is taken as UTC.
        """
        if not text.strip():
            raise InputError("The search text is empty; describe the events to find.")
        if not 1 <= k <= 1000:
            raise InputError(f"k must be 1-1000, not {k}.")
        if since is not None and until is not None and utc(since) >= utc(until):
            raise InputError(
                f"since ({since.isoformat()}) must be before until ({until.isoformat()})."
            )
        vector = self.embedder.embed([text])[0]
        return similar_events(
            self.engine,
            self.tenant_id,
            vector,
            k=k,
            user=user,
            category=category,
            since=since,
            until=until,
            event_type=event_type,
        )

    def sync_status(self) -> SyncStatus:
        """This tenant's sync counters (``medkb sync status``)."""
        return sync_status(self.engine, tenant_id=self.tenant_id)

    def verify(self) -> VerifyReport:
        """Compare both stores for this tenant (``medkb sync verify``)."""
        return verify(self.engine, self.store, tenant_id=self.tenant_id)

    def _private(self, text: str | None) -> str | None:
        """``text`` as it may be stored in ``query_logs`` (``privacy.redact_query_logs``)."""
        if text is None or not self.settings.privacy.redact_query_logs:
            return text
        return redact_pii(text)

    def sync(self) -> int:
        """Apply every due outbox row to the vector store; return how many ids were applied."""
        return drain(self.engine, self.store)

    def stats(self) -> dict[str, Any]:
        """Counts per store, categories, relations, queries, latency and sync state."""
        with self.engine.connect() as conn:
            return {
                "relational_pairs": pairs.count_pairs(conn, tenant_id=self.tenant_id),
                "vector_pairs": self.store.count(self.tenant_id),
                "categories": pairs.category_counts(conn, tenant_id=self.tenant_id),
                "relations": relations.count_relations(conn, tenant_id=self.tenant_id),
                "sync": {
                    **outbox.state_counts(conn, tenant_id=self.tenant_id),
                    "outbox_pending": outbox.pending_count(conn),
                },
                "embedding_model": self.embedder.model_id,
                **logs.query_stats(conn, tenant_id=self.tenant_id),
            }

    def _pair(self, conn: sa.Connection, qa_id: str) -> QAPair:
        found = pairs.get_pairs(conn, [qa_id], tenant_id=self.tenant_id)
        if qa_id not in found:
            raise NotFound(_not_found(qa_id))
        return found[qa_id]


def _edges(conn: sa.Connection, ids: Sequence[str], tenant_id: str) -> dict[str, list[Edge]]:
    found = relations.outgoing(conn, ids, tenant_id=tenant_id)
    return {i: [Edge(r.target_id, r.type, r.confidence) for r in rels] for i, rels in found.items()}


def _not_found(qa_id: str) -> str:
    return (
        f"No Q&A pair {qa_id!r}. 'medkb query QUESTION' shows the id of each pair it finds, "
        "in brackets after its question."
    )


def load_model(embedder: Embedder) -> None:
    """Load what the embedder needs for a query now (``warm_up()``, else ``load()``), so
    that the time it takes is not counted, and logged, as the first query's embed time."""
    load = getattr(embedder, "warm_up", None) or getattr(embedder, "load", None)
    if callable(load):
        load()


def check_filters(filters: Mapping[str, Sequence[str]] | None) -> None:
    """Refuse filter keys the stores cannot filter on."""
    unknown = set(filters or {}) - set(FILTERABLE_KEYS)
    if unknown:
        raise InputError(
            f"Cannot filter on {', '.join(sorted(unknown))}; filterable keys: "
            f"{', '.join(FILTERABLE_KEYS)}."
        )


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def parse_bool(key: str, value: str) -> bool:
    """``true``/``false`` (also yes/no, on/off, 1/0) for metadata key ``key``.

    Raises:
        InputError: anything else, so that a typo never silently deactivates a pair.
    """
    word = value.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise InputError(f"{key} must be true or false (or yes/no, 1/0), not {value!r}.")


def check_metadata(edits: Mapping[str, str]) -> None:
    """Refuse metadata edits whose value the key cannot take (before anything is opened)."""
    for key, value in edits.items():
        if key == "is_active":
            parse_bool(key, value)


def set_metadata(pair: QAPair, key: str, value: str) -> None:
    """Apply one ``--set key=value`` edit to a pair's metadata."""
    meta = pair.metadata
    if key == "tags":
        meta.tags = [tag.strip() for tag in value.split(",") if tag.strip()]
    elif key == "is_active":
        meta.is_active = parse_bool(key, value)
    elif key in _METADATA_FIELDS:
        setattr(meta, key, value or None)
    else:
        meta.extra[key] = value


def check_embedder(engine: sa.Engine, embedder: Embedder) -> None:
    """Record the KB's embedding model on first use; refuse a different one later."""
    with engine.begin() as conn:
        stored = dict(conn.execute(sa.select(kb_info.c.key, kb_info.c.value)).all())
        if "embedding_model" not in stored:
            conn.execute(
                kb_info.insert(),
                [
                    {"key": "embedding_model", "value": embedder.model_id},
                    {"key": "embedding_dimension", "value": str(embedder.dimension)},
                ],
            )
            return
    if stored["embedding_model"] != embedder.model_id:
        raise EmbedderMismatch(
            f"This knowledge base was built with the embedding model "
            f"{stored['embedding_model']!r} ({stored['embedding_dimension']} dims), but "
            f"{embedder.model_id!r} was asked for. Open it with the embedder it was built with "
            "(--embedder / MEDKB_EMBEDDER), or re-ingest into a new --home to use the new model."
        )


def active_collection(engine: sa.Engine) -> str:
    """The vector collection queries use: ``medkb reembed`` switches it in ``kb_info``."""
    with engine.connect() as conn:
        query = sa.select(kb_info.c.value).where(kb_info.c.key == COLLECTION_KEY)
        return conn.execute(query).scalar_one_or_none() or COLLECTION


def recorded_embedder(engine: sa.Engine) -> str | None:
    """The settings name ('minilm', 'static') of the model the KB was built with, if known."""
    with engine.connect() as conn:
        query = sa.select(kb_info.c.value).where(kb_info.c.key == "embedding_model")
        model_id = conn.execute(query).scalar_one_or_none()
    return EMBEDDER_NAMES.get(model_id) if model_id else None


def with_recorded_embedder(settings: Settings, engine: sa.Engine) -> Settings:
    """``settings`` with the KB's own embedder, unless one was chosen explicitly.

    An explicit choice (``--embedder``, ``MEDKB_EMBEDDER``, ``Settings(embedder=...)``) is
    kept, and :func:`check_embedder` refuses it when it differs from the recorded model.
    """
    if "embedder" in settings.model_fields_set:
        return settings
    recorded = recorded_embedder(engine)
    if recorded is None or recorded == settings.embedder:
        return settings
    return settings.model_copy(update={"embedder": recorded})


def build(settings: Settings) -> KnowledgeBase:
    """Open (creating and migrating if needed) the knowledge base ``settings`` describe.

    Without an explicit embedder, the one the knowledge base was built with is used.
    """
    from medkb.stores.cache.registry import open_answer_cache

    make_home(settings.home)
    engine = relational.make_engine(settings.resolved_database_url())
    try:
        relational.upgrade(engine)
        settings = with_recorded_embedder(settings, engine)
        embedder = open_embedder(
            settings.embedder, cache_dir=settings.cache_dir, device=settings.device
        )
        check_embedder(engine, embedder)
        store = open_vector_store(
            settings.resolved_vector_url(),
            dimension=embedder.dimension,
            home=settings.home,
            database_url=settings.resolved_database_url(),
            collection=active_collection(engine),
        )
    except BaseException:
        engine.dispose()
        raise
    return KnowledgeBase(
        settings,
        engine=engine,
        store=store,
        embedder=embedder,
        answers=open_answer_cache(settings),
    )


def guard_dependencies(
    kb: KnowledgeBase,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] | None = None,
) -> tuple[KnowledgeBase, dict[str, CircuitBreaker]]:
    """A view of ``kb`` whose dependencies run behind their retry policies and circuit
    breakers (``Settings.resilience``), and the breakers by dependency.

    The vector store and the embedder are guarded in the view itself; the object store
    (uploads) and, when ``answer.llm.url`` is set, the LLM endpoint through the view's
    ``breakers`` (its ingestor and answerer use them). Tenant views made from the view
    (:meth:`KnowledgeBase.for_tenant`) share its breakers. While a circuit is open, calls
    raise :class:`~medkb.resilience.breaker.CircuitOpen` (also the dependency's own error
    kind) at once.
    """
    from medkb.resilience.breaker import (
        CircuitBreaker,
        CircuitOpen,
        LLMCircuitOpen,
        ObjectStoreCircuitOpen,
        VectorStoreCircuitOpen,
    )
    from medkb.resilience.guard import guarded
    from medkb.resilience.retry import policy

    tuning = kb.settings.resilience
    refusals: dict[str, type[CircuitOpen]] = {
        "vector_store": VectorStoreCircuitOpen,
        "embedder": CircuitOpen,
        "object_store": ObjectStoreCircuitOpen,
    }
    if kb.settings.answer.llm.url:
        refusals["llm"] = LLMCircuitOpen
    breakers = {}
    for name, refusal in refusals.items():
        failures, reset_s, trials = tuning.breaker_thresholds(name)
        breakers[name] = CircuitBreaker(
            _DEPENDENCY_NAMES[name],
            failures=failures,
            reset_s=reset_s,
            trial_calls=trials,
            clock=clock,
            refusal=refusal,
        )
    store = guarded(
        kb.store,
        breaker=breakers["vector_store"],
        policy=policy(tuning.policy_name("vector_store")),
    )
    embedder = guarded(
        kb.embedder,
        breaker=breakers["embedder"],
        policy=policy(tuning.policy_name("embedder")),
        sleep=sleep,
    )
    view = KnowledgeBase(
        kb.settings,
        engine=kb.engine,
        store=store,
        embedder=embedder,
        owns_stores=False,
        answers=kb.answers,
        breakers=breakers,
    )
    return view, breakers


#: How errors and probes name each guarded dependency.
_DEPENDENCY_NAMES = {
    "vector_store": "vector store",
    "embedder": "embedder",
    "object_store": "object store",
    "llm": "LLM endpoint",
}


def make_home(home: Path) -> None:
    """Create the data directory, or say why it cannot be one."""
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"Cannot use {home} as the data directory: {exc.strerror or exc}. Point --home "
            "(MEDKB_HOME) at a folder medkb can create and write."
        ) from exc


def open(target: Settings | Path | str | None = None, **overrides: Any) -> KnowledgeBase:
    """Open a knowledge base by home directory or :class:`Settings` (``medkb.open``)."""
    if isinstance(target, Settings):
        settings = target.model_copy(update=overrides) if overrides else target
    elif target is None:
        settings = Settings(**overrides)
    else:
        settings = Settings(home=Path(target), **overrides)
    return build(settings)


def collection_opener(kb: KnowledgeBase) -> Callable[[str], VectorStore]:
    """Open a collection of ``kb``'s vector store by name (``medkb worker`` follows
    ``medkb reembed`` with it), sized by the dimension ``kb_info`` records at that time."""

    def open_collection(collection: str) -> VectorStore:
        with kb.engine.connect() as conn:
            query = sa.select(kb_info.c.value).where(kb_info.c.key == "embedding_dimension")
            stored = conn.execute(query).scalar_one_or_none()
        return open_vector_store(
            kb.settings.resolved_vector_url(),
            dimension=int(stored) if stored else kb.store.dimension,
            home=kb.settings.home,
            database_url=kb.settings.resolved_database_url(),
            collection=collection,
        )

    return open_collection
