"""Run a set of judged queries through a knowledge base's real query path and score it.

Every query goes through :meth:`medkb.app.KnowledgeBase.query` (normalisation, retrieval,
fusion, graph expansion, enrichment, answer) with logging off, asking for at least 100 hits
so recall@100 is measurable. Latency is the wall-clock time of that call.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from medkb.app import KnowledgeBase
from medkb.errors import InputError
from medkb.evaluation.datasets import judged_queries
from medkb.evaluation.metrics import Qrels, mean_scores, percentile

#: Called after each query with (done, total).
QueryProgress = Callable[[int, int], None]
RECALL_CUTS = (1, 5, 10, 100)
MIN_HITS = 100
MODES = ("hybrid", "dense", "keyword")


@dataclass
class EvalReport:
    """Retrieval quality and latency of one mode over one set of judged queries."""

    mode: str
    k: int
    depth: int
    min_relevance: int
    queries: int
    skipped: int
    metrics: dict[str, float]
    latency_ms: dict[str, float]
    build: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "k": self.k,
            "depth": self.depth,
            "min_relevance": self.min_relevance,
            "queries": self.queries,
            "skipped": self.skipped,
            "metrics": {name: round(value, 4) for name, value in self.metrics.items()},
            "latency_ms": {name: round(value, 2) for name, value in self.latency_ms.items()},
            "build": self.build,
        }


def evaluate(
    kb: KnowledgeBase,
    queries: Mapping[str, str],
    qrels: Qrels,
    *,
    mode: str = "hybrid",
    k: int = 10,
    depth: int | None = None,
    min_relevance: int = 1,
    progress: QueryProgress | None = None,
) -> EvalReport:
    """Score ``kb`` on the judged ``queries``.

    Args:
        kb: An open knowledge base holding the corpus the qrels refer to.
        queries: Query text by query id.
        qrels: Grades by query id and corpus id.
        mode: ``hybrid``, ``dense`` or ``keyword``.
        k: Cut-off of MRR and nDCG (recall is also reported at 1, 5, 10 and 100).
        depth: Graph expansion depth; ``None`` keeps the knowledge base's default.
        min_relevance: Lowest grade that counts as relevant for recall and MRR.
        progress: Called after each query.

    Returns:
        Means over the queries with at least one relevant document; queries without one
        (or without qrels) are counted in ``skipped`` and not run.

    Raises:
        InputError: An unknown mode or a cut-off below 1.
    """
    if mode not in MODES:
        raise InputError(f"Unknown mode {mode!r}; use {', '.join(MODES)}.")
    if k < 1:
        raise InputError(f"--k must be at least 1, not {k}.")
    depth = default_depth() if depth is None else depth
    judged = judged_queries(dict(queries), qrels, min_relevance)
    run: dict[str, list[str]] = {}
    latencies: list[float] = []
    for done, (query_id, text) in enumerate(judged.items(), start=1):
        run[query_id], elapsed_ms = _ranked_ids(kb, text, mode=mode, k=k, depth=depth)
        latencies.append(elapsed_ms)
        if progress is not None:
            progress(done, len(judged))
    cuts = sorted({*RECALL_CUTS, k})
    scored_qrels = {query_id: qrels[query_id] for query_id in judged}
    metrics, evaluated = mean_scores(run, scored_qrels, ks=cuts, k=k, min_relevance=min_relevance)
    return EvalReport(
        mode=mode,
        k=k,
        depth=depth,
        min_relevance=min_relevance,
        queries=evaluated,
        skipped=len(queries) - len(judged),
        metrics=metrics,
        latency_ms=_latency(latencies),
    )


def default_depth() -> int:
    """The graph expansion depth :meth:`KnowledgeBase.query` uses when not told."""
    default = inspect.signature(KnowledgeBase.query).parameters["depth"].default
    return int(default)


def _ranked_ids(
    kb: KnowledgeBase, text: str, *, mode: str, k: int, depth: int
) -> tuple[list[str], float]:
    """The ids ``kb`` returns for ``text``, best first, and the call's wall-clock ms."""
    start = time.perf_counter()
    result = kb.query(text, top_k=max(k, MIN_HITS), depth=depth, mode=mode, log=False)
    elapsed_ms = (time.perf_counter() - start) * 1000
    return [hit.pair.id for hit in result.hits], elapsed_ms


def _latency(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50": 0.0, "p95": 0.0, "mean": 0.0}
    return {
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "mean": sum(latencies) / len(latencies),
    }
