"""The answer cache's Protocol and the pure parts both backends share.

An entry is one answer (the ``medkb query --json`` object) under a key made from the
normalised question, the query options and the embedding model; it lives in its tenant's
namespace and is indexed by every pair it cites or returns. Writes invalidate:

- an update or delete of a pair drops every entry indexed by that pair;
- a new pair drops the tenant's every entry (it may answer any cached question better).

A query reads a *token* with the entry; it may store its answer only while the token is
unchanged, so an answer computed from data a concurrent write changed is never cached.

Backends never raise: the cache is an optimisation, so a broken cache (Redis down) is a
logged warning and a miss, never a failed query.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Lookup:
    """What :meth:`AnswerCache.get` found: the answer (None: a miss) and the token a later
    :meth:`AnswerCache.put` must present (None: do not store)."""

    answer: dict[str, Any] | None
    token: str | None


class AnswerCache(Protocol):
    """Answers by tenant and key, invalidated by the pairs they cite."""

    def get(self, tenant_id: str, key: str) -> Lookup:
        """The cached answer for ``key`` in ``tenant_id``'s namespace, or a miss."""
        ...

    def put(
        self,
        tenant_id: str,
        key: str,
        answer: Mapping[str, Any],
        *,
        cites: Collection[str],
        token: str | None,
    ) -> None:
        """Store ``answer`` indexed by the pair ids it ``cites``, unless a write since
        :meth:`get` changed ``token``."""
        ...

    def invalidate(self, tenant_id: str, ids: Collection[str], *, created: bool) -> None:
        """Drop the entries citing ``ids``; every entry of the tenant when ``created``."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def answer_key(normalised: str, options: Mapping[str, Any], model_id: str) -> str:
    """The cache key of a question: its normalised text, the options that shape the
    answer and the embedding model, hashed (no question text is kept in key names)."""
    material = json.dumps(
        {"q": normalised, "options": options, "model": model_id},
        sort_keys=True,
        ensure_ascii=False,
        default=list,
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def cited_ids(answer: Mapping[str, Any]) -> set[str]:
    """Every pair id an answer object cites or returns: hits, their relations' targets,
    the graph paths' nodes and the citations."""
    found: set[str] = set()
    for hit in answer.get("hits", []):
        found.add(str(hit["id"]))
        found.update(str(rel.get("target_id")) for rel in hit.get("relations", []))
    for step in answer.get("graph", []):
        found.update(str(node) for node in step.get("nodes", []))
    found.update(_citation_ids(answer.get("citations", [])))
    found.update(_citation_ids(answer.get("nearest_topics", [])))
    found.discard("None")
    return found


def _citation_ids(citations: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    for citation in citations:
        for name in ("id", "qa_id"):
            if citation.get(name):
                yield str(citation[name])
