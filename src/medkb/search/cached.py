"""Answering through the answer cache (``medkb.stores.cache``): a repeated question with
the same options and embedding model gets the stored answer object, logged as a query of
its own; a miss runs the query flow and stores its answer, indexed by the pairs it cites.
"""

from __future__ import annotations

import time
from typing import Any

from medkb import telemetry
from medkb.search.service import QueryOptions, Searcher
from medkb.stores.cache.base import AnswerCache, answer_key, cited_ids


class CachedAnswers:
    """One tenant's answers, from ``cache`` when it has them."""

    def __init__(self, searcher: Searcher, cache: AnswerCache, *, model_id: str) -> None:
        self.searcher, self.cache, self.model_id = searcher, cache, model_id

    @property
    def tenant_id(self) -> str:
        """The tenant whose namespace the cache is read and written in."""
        return self.searcher.tenant_id

    def answer(self, text: str, options: QueryOptions) -> dict[str, Any]:
        """The ``medkb query --json`` object for ``text``, with ``cached`` saying where
        it came from."""
        started = time.perf_counter()
        key = answer_key(asked(text), shape(options), self.model_id)
        with telemetry.span("answer_cache.get") as current:
            found = self.cache.get(self.tenant_id, key)
            current.set_attribute("medkb.hit", found.answer is not None)
        if found.answer is not None:
            return self._replay(text, found.answer, options, started)
        fresh = self.searcher.query(text, options).to_dict()
        kept = {**fresh, "query": "", "query_log_id": None}  # the asker's words stay out
        with telemetry.span("answer_cache.put"):
            self.cache.put(self.tenant_id, key, kept, cites=cited_ids(fresh), token=found.token)
        return {**fresh, "cached": False}

    def forget(self, touched: set[str], created: bool) -> None:
        """A write committed: drop the answers citing what it touched (all on a new pair)."""
        with telemetry.span("answer_cache.invalidate", **{"medkb.ids": len(touched)}):
            self.cache.invalidate(self.tenant_id, touched, created=created)

    def _replay(
        self, text: str, cached: dict[str, Any], options: QueryOptions, started: float
    ) -> dict[str, Any]:
        """A cached answer for this asker: their words, a query log row of its own."""
        ms = round((time.perf_counter() - started) * 1000, 2)
        timings = {"cache": ms, "total": ms}
        log_id = None
        if options.log:
            log_id = self.searcher.log_answer(
                text,
                str(cached.get("answer", "")),
                hits=[(str(h["id"]), float(h["score"])) for h in cached.get("hits", [])],
                options=options,
                timings=timings,
            )
        replayed = {"query": text, "query_log_id": log_id, "timings_ms": timings}
        return {**cached, **replayed, "cached": True}


def asked(text: str) -> str:
    """A question as the cache keys it: whitespace collapsed, nothing else. Not
    ``normalise_query``'s greeting and sign-off stripping: the urgent-care triage reads
    the raw message, so two messages that normalise alike may need different notices."""
    return " ".join(text.split())


def shape(options: QueryOptions) -> dict[str, Any]:
    """The options that change an answer (not the session id or logging)."""
    filters = {key: sorted(values) for key, values in (options.filters or {}).items()}
    return {
        "top_k": options.top_k,
        "depth": options.depth,
        "filters": filters,
        "mode": options.mode,
    }
