"""The query flow (DESIGN "Query"): normalise → embed → dense + keyword search in parallel
→ fuse → graph expansion → enrich → answer with citations → log.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from medkb import telemetry
from medkb.answer.compose import Answerer
from medkb.answer.extractive import Evidence
from medkb.config import AnswerSettings, RankingProfile, SearchSettings
from medkb.embed.base import Embedder
from medkb.graph.traversal import Edge, GraphPath, expand, neighbour_scores
from medkb.models import QAPair, Relation, Vector, VectorField
from medkb.search.fusion import combine
from medkb.search.pii import redact_pii
from medkb.search.results import GraphStep, Hit, QueryResult
from medkb.search.text import keywords, normalise_query
from medkb.stores.relational import logs, pairs, relations
from medkb.stores.relational.keyword import keyword_search
from medkb.stores.vector.base import Filters, VectorStore
from medkb.sync.apply import Clock, utcnow

Ranking = list[tuple[str, float]]


class Stopwatch:
    """Collects wall-clock milliseconds per named stage."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._start = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as stage ``name`` (and trace it as span ``query.<name>``)."""
        start = time.perf_counter()
        try:
            with telemetry.span(f"query.{name}"):
                yield
        finally:
            self.ms[name] = self.ms.get(name, 0.0) + (time.perf_counter() - start) * 1000

    def total(self) -> float:
        return (time.perf_counter() - self._start) * 1000


@dataclass(frozen=True)
class QueryOptions:
    """Per-query choices on top of :class:`SearchSettings`."""

    top_k: int = 10
    depth: int = 1
    filters: Filters | None = None
    mode: str = "hybrid"  # hybrid | dense | keyword
    session_id: str | None = None
    log: bool = True


class Searcher:
    """Answers queries for one tenant."""

    def __init__(
        self,
        *,
        engine: sa.Engine,
        store: VectorStore,
        embedder: Embedder,
        settings: SearchSettings,
        tenant_id: str,
        clock: Clock = utcnow,
        answerer: Answerer | None = None,
        redact_logs: bool = True,
    ) -> None:
        self.engine, self.store, self.embedder = engine, store, embedder
        self.settings, self.tenant_id, self.clock = settings, tenant_id, clock
        self.redact_logs = redact_logs  # personal identifiers never reach query_logs
        self.answerer = answerer or Answerer(AnswerSettings(), embedder="")
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="medkb-search")

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown(wait=True)

    @property
    def ranking(self) -> RankingProfile:
        """Fields and fusion for this embedder: its profile, then explicit settings."""
        return self.settings.ranking(self.embedder.model_id)

    def query(self, text: str, options: QueryOptions) -> QueryResult:
        """Run the whole query flow and return the answer with its evidence."""
        with telemetry.span(
            "query",
            **{"medkb.tenant": self.tenant_id, "medkb.mode": options.mode},
            **{"medkb.top_k": options.top_k, "medkb.depth": options.depth},
        ) as current:
            result = self._query(text, options)
            current.set_attribute("medkb.hits", len(result.hits))
            current.set_attribute("medkb.answer_mode", result.info.mode)
            return result

    def _query(self, text: str, options: QueryOptions) -> QueryResult:
        watch = Stopwatch()
        with watch.stage("normalise"):
            cleaned = normalise_query(text)
            words = keywords(cleaned)
        rankings, vector = self._retrieve(cleaned, words, options, watch)
        with watch.stage("fuse"):
            fused = combine(
                rankings,
                method=self.ranking.fusion,
                weights=self._weights(rankings),
                k=self.settings.rrf_k,
            )
        hits, steps = self._expand_and_enrich(fused, rankings, options, watch)
        with watch.stage("answer"):
            dense = options.mode != "keyword"
            evidence = [_evidence(hit, dense=dense) for hit in hits]
            answer = self.answerer.answer(text, cleaned, evidence, vector=vector)
        result = QueryResult(
            query=text,
            answer=answer.text,
            citations=answer.citations,
            hits=hits,
            graph=steps,
            query_log_id=None,
            timings_ms=watch.ms,
            info=answer.info,
        )
        if options.log:
            with watch.stage("log"):
                result.query_log_id = self._log(result, options, watch)
        watch.ms["total"] = watch.total()
        return result

    def _retrieve(
        self, cleaned: str, words: list[str], options: QueryOptions, watch: Stopwatch
    ) -> tuple[dict[str, Ranking], Vector | None]:
        """The rankings of each search, and the query's vector when dense search ran."""
        n = max(self.settings.candidates, options.top_k)
        vector = None
        keyword_job = None
        if options.mode in ("hybrid", "keyword"):
            keyword_job = self._pool.submit(
                telemetry.carried(self._keyword), words, options.filters, n
            )
        rankings: dict[str, Ranking] = {}
        if options.mode in ("hybrid", "dense"):
            with watch.stage("embed"):
                vector = self.embedder.embed([cleaned])[0]
            with watch.stage("dense_search"):
                rankings.update(self._dense(vector, options.filters, n))
        if keyword_job is not None:
            with watch.stage("keyword_search"):
                rankings["keyword"] = keyword_job.result()
        return rankings, vector

    def _dense(self, vector: Vector, filters: Filters | None, n: int) -> dict[str, Ranking]:
        return {
            f"dense:{field}": self._vector_search(vector, field, filters, n)
            for field in self.ranking.fields
        }

    def _vector_search(
        self, vector: Vector, field: VectorField, filters: Filters | None, n: int
    ) -> Ranking:
        attributes: dict[str, telemetry.Attribute] = {
            "db.system": type(self.store).__name__,
            "medkb.field": field,
            "medkb.k": n,
        }
        with telemetry.span("vector.search", **attributes) as current:
            found = self.store.search(
                vector, field=field, k=n, tenant_id=self.tenant_id, filters=filters
            )
            current.set_attribute("medkb.results", len(found))
        return [(hit.id, hit.score) for hit in found]

    def _keyword(self, words: list[str], filters: Filters | None, n: int) -> Ranking:
        with (
            telemetry.span("relational.keyword_search", **{"medkb.k": n}) as current,
            self.engine.connect() as conn,
        ):
            found = keyword_search(conn, words, tenant_id=self.tenant_id, filters=filters, limit=n)
            current.set_attribute("medkb.results", len(found))
            return found

    def _weights(self, rankings: dict[str, Ranking]) -> dict[str, float]:
        profile = self.ranking
        return {
            name: profile.keyword_weight if name == "keyword" else profile.dense_weight
            for name in rankings
        }

    def _expand_and_enrich(
        self,
        fused: Ranking,
        rankings: dict[str, Ranking],
        options: QueryOptions,
        watch: Stopwatch,
    ) -> tuple[list[Hit], list[GraphStep]]:
        seeds = dict(fused[: options.top_k])
        known: dict[str, list[Relation]] = {}  # outgoing relations read so far, by pair
        with self.engine.connect() as conn:
            with watch.stage("graph"):
                paths = self._walk(conn, list(seeds), options, known)
                extra = neighbour_scores(paths, seeds, weight=self.settings.graph_weight)
            with watch.stage("enrich"):
                hits = self._hits(conn, seeds, extra, rankings, options, known)
        return hits, [_step(path) for path in paths]

    def _walk(
        self,
        conn: sa.Connection,
        seeds: list[str],
        options: QueryOptions,
        known: dict[str, list[Relation]],
    ) -> list[GraphPath]:
        """Paths from the seeds through pairs the query may see: this tenant's, active,
        inside the filters (the adjacency is filtered, so no path passes through others)."""
        if options.depth <= 0 or not seeds:
            return []

        def neighbours(frontier: Sequence[str]) -> dict[str, list[Edge]]:
            found = self._outgoing(conn, frontier, options, known)
            return {
                qa_id: [Edge(r.target_id, r.type, r.confidence) for r in rels]
                for qa_id, rels in found.items()
            }

        return expand(seeds, neighbours, depth=options.depth)

    def _outgoing(
        self,
        conn: sa.Connection,
        ids: Sequence[str],
        options: QueryOptions,
        known: dict[str, list[Relation]],
    ) -> dict[str, list[Relation]]:
        """Relations leaving ``ids``; those already in ``known`` (read earlier in this
        query, on this connection) are not read again, and ``known`` gains the rest."""
        missing = [qa_id for qa_id in ids if qa_id not in known]
        if missing:
            with telemetry.span("relational.relations", **{"medkb.ids": len(missing)}):
                known.update(
                    relations.outgoing(
                        conn,
                        missing,
                        tenant_id=self.tenant_id,
                        active_only=True,
                        filters=options.filters,
                    )
                )
        return {qa_id: known[qa_id] for qa_id in ids}

    def _hits(
        self,
        conn: sa.Connection,
        seeds: dict[str, float],
        extra: dict[str, float],
        rankings: dict[str, Ranking],
        options: QueryOptions,
        known: dict[str, list[Relation]],
    ) -> list[Hit]:
        scores = dict(seeds)
        for qa_id, score in extra.items():
            scores[qa_id] = scores.get(qa_id, 0.0) + score
        found, kept = self._load_best(conn, scores, options)
        rels = self._outgoing(conn, kept, options, known)
        per_ranking = {name: dict(ranking) for name, ranking in rankings.items()}
        return [
            Hit(
                pair=found[qa_id],
                score=scores[qa_id],
                scores={name: r[qa_id] for name, r in per_ranking.items() if qa_id in r},
                relations=rels.get(qa_id, []),
                via_graph=qa_id not in seeds,
            )
            for qa_id in kept
        ]

    def _load_best(
        self, conn: sa.Connection, scores: dict[str, float], options: QueryOptions
    ) -> tuple[dict[str, QAPair], list[str]]:
        """Load pairs best-first, a chunk at a time, until ``top_k`` pass the filters."""
        ranked = sorted(scores, key=lambda qa_id: (-scores[qa_id], qa_id))
        found: dict[str, QAPair] = {}
        kept: list[str] = []
        chunk = max(options.top_k * 2, 1)
        for start in range(0, len(ranked), chunk):
            ids = ranked[start : start + chunk]
            with telemetry.span("relational.get_pairs", **{"medkb.ids": len(ids)}):
                found.update(pairs.get_pairs(conn, ids, tenant_id=self.tenant_id))
            kept += [qa_id for qa_id in ids if qa_id in found and _passes(found[qa_id], options)]
            if len(kept) >= options.top_k:
                break
        return found, kept[: options.top_k]

    def _log(self, result: QueryResult, options: QueryOptions, watch: Stopwatch) -> int:
        return self.log_answer(
            result.query,
            result.answer,
            hits=[(hit.pair.id, hit.score) for hit in result.hits],
            options=options,
            timings={**watch.ms, "total": watch.total()},
        )

    def log_answer(
        self,
        query: str,
        answer: str,
        *,
        hits: Sequence[tuple[str, float]],
        options: QueryOptions,
        timings: dict[str, float],
    ) -> int:
        """Store a query in ``query_logs`` (also one answered from the answer cache):
        personal identifiers redacted by default (the answer too, since an LLM answer may
        repeat the question)."""
        clean = redact_pii if self.redact_logs else _unchanged
        with telemetry.span("relational.log_query"), self.engine.begin() as conn:
            return logs.log_query(
                conn,
                tenant_id=self.tenant_id,
                query=clean(query),
                answer=clean(answer),
                hits=hits,
                timings=timings,
                session_id=options.session_id,
                now=self.clock(),
            )


def _unchanged(text: str) -> str:
    return text


def _passes(pair: QAPair, options: QueryOptions) -> bool:
    """Graph neighbours obey the same filters as the retrievers."""
    if not pair.metadata.is_active:
        return False
    basic = pair.metadata.basic()
    return all(basic.get(key) in values for key, values in (options.filters or {}).items())


def _evidence(hit: Hit, *, dense: bool) -> Evidence:
    """The answer step's view of a hit; a hit the dense search did not return gets cosine
    0 when dense search ran (it was below every dense candidate), ``None`` otherwise."""
    source = hit.pair.metadata.source or (
        hit.pair.sources[0].document if hit.pair.sources else None
    )
    return Evidence(
        id=hit.pair.id,
        question=hit.pair.question,
        response=hit.pair.response,
        score=hit.score,
        source=source,
        cosine=max(
            (v for k, v in hit.scores.items() if k.startswith("dense:")),
            default=0.0 if dense else None,
        ),
    )


def _step(path: GraphPath) -> GraphStep:
    return GraphStep(
        nodes=list(path.nodes),
        relations=list(path.relations),
        depth=path.depth,
        confidence=round(path.confidence, 4),
    )
