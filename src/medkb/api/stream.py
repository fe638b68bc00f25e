"""The events of ``POST /v1/query/stream`` (Server-Sent Events), made from one query result.

The order a reader sees them in:

1. ``notice`` — only when triage flagged an emergency: ``{"category", "notice"}``, first,
   so a client shows what to do now before anything else.
2. ``sources`` — ``{"citations", "sources"}``: every numbered citation with the document,
   page, section and link of the pair it cites.
3. ``answer`` — ``{"text"}``, one per sentence-sized piece; the pieces joined give the
   answer without the notice (which came in its own event).
4. ``done`` — the same object ``POST /v1/query`` answers with.

Pure functions of a result dict: the route runs the query first, so every error (bad
input, auth, rate limit) is an ordinary JSON error before the stream starts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

#: Split after a sentence's end, keeping the whitespace with the next piece.
_PIECE = re.compile(r"(?<=[.!?\]])(?=\s)")


def events(result: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs for ``result`` (a ``QueryResult.to_dict()``), in order."""
    safety = result.get("safety") or None
    notice = str(safety.get("notice", "")) if safety else ""
    if safety:
        yield "notice", {"category": safety.get("category"), "notice": notice}
    yield "sources", {"citations": result["citations"], "sources": sources(result)}
    for piece in pieces(_without_notice(result["answer"], notice)):
        yield "answer", {"text": piece}
    yield "done", result


def sources(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per citation number: the cited pair's question and its first source."""
    hits = {hit["id"]: hit for hit in result.get("hits", [])}
    found = []
    for citation in result["citations"]:
        hit = hits.get(citation["id"], {})
        first = (hit.get("sources") or [{}])[0]
        found.append(
            {
                "number": citation["number"],
                "id": citation["id"],
                "question": hit.get("question"),
                "document": first.get("document") or citation.get("source"),
                "page": first.get("page"),
                "section": first.get("section"),
                "url": first.get("url"),
            }
        )
    return found


def pieces(text: str) -> list[str]:
    """``text`` cut after each sentence; the pieces joined are ``text`` again."""
    return [piece for piece in _PIECE.split(text) if piece]


def encode(event: str, data: dict[str, Any]) -> str:
    """One Server-Sent Event: its name and one line of JSON data."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def stream(result: dict[str, Any]) -> Iterator[str]:
    """The encoded events of ``result``."""
    for event, data in events(result):
        yield encode(event, data)


def _without_notice(answer: str, notice: str) -> str:
    if notice and answer.startswith(notice):
        return answer[len(notice) :].lstrip("\n")
    return answer
