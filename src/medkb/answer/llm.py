"""Optional LLM answers through an OpenAI-compatible ``/chat/completions`` endpoint.

The prompt numbers the retrieved pairs ``[1]``, ``[2]``, ... and asks for an answer that
uses only them and cites them as ``[n]``. The reply is checked, not trusted:

- citations of numbers that were not given (``[7]`` with three pairs) are removed from the
  text and reported;
- each sentence's citations are mapped to pairs; sentences that cite nothing are reported
  as ``uncited`` (a marker at the start of the next sentence counts for the previous one,
  as in "... a virus. [1] It spreads ...").

Failures (connection refused, timeout, HTTP errors, a reply without text) raise
:class:`~medkb.errors.LLMError`; the caller falls back to the extractive answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from medkb.answer.extractive import Answer, Citation, Evidence
from medkb.config import LLMSettings, reveal
from medkb.errors import DependencyMissing, LLMError
from medkb.redact import redact
from medkb.search.sentences import split_sentences

SYSTEM_PROMPT = (
    "You answer health questions using only the numbered sources given. Cite the source of "
    "every sentence with its number in square brackets, e.g. [1] or [1][2]. If the sources "
    "do not answer the question, say so. Do not give a diagnosis; be brief."
)
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
#: Characters of each response put in the prompt.
MAX_RESPONSE_CHARS = 2000


@dataclass
class LLMAnswer:
    """The checked reply: text with markers, citations, and what did not check out."""

    answer: Answer
    uncited: list[str] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)


def messages(query: str, evidence: Sequence[Evidence]) -> list[dict[str, str]]:
    """The chat messages: the instructions, then the numbered sources and the question."""
    sources = "\n\n".join(
        f"[{number}] Q: {item.question}\nA: {item.response[:MAX_RESPONSE_CHARS]}"
        for number, item in enumerate(evidence, start=1)
    )
    user = f"Sources:\n\n{sources}\n\nQuestion: {query}\n\nAnswer, citing sources as [n]:"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def complete(settings: LLMSettings, chat: list[dict[str, str]]) -> str:
    """POST ``chat`` to ``{url}/chat/completions`` and return the reply's text.

    Raises:
        LLMError: The endpoint is unreachable, slow, answers an HTTP error, or its reply has
            no text.
        DependencyMissing: httpx is not installed.
    """
    try:
        import httpx
    except ImportError as exc:  # pragma: no cover - httpx is a dependency of the llm extra
        raise DependencyMissing(
            "LLM answers need httpx: pip install 'medkb[llm]', or unset MEDKB_LLM_URL."
        ) from exc
    url = f"{(settings.url or '').rstrip('/')}/chat/completions"
    key = reveal(settings.api_key)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"model": settings.model, "messages": chat, "temperature": settings.temperature}
    try:
        reply = httpx.post(url, json=body, headers=headers, timeout=settings.timeout_s)
        reply.raise_for_status()
        return _reply_text(reply.json())
    except httpx.TimeoutException as exc:
        raise LLMError(
            redact(f"{url} did not answer within {settings.timeout_s} s: {exc!r}.")
        ) from exc
    except (httpx.HTTPError, ValueError) as exc:
        raise LLMError(redact(f"{url} failed: {exc}.")) from exc


def _reply_text(data: Any) -> str:
    try:
        text = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError("the reply is not a chat completion (no choices[0].message)") from exc
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the reply's message is empty")
    return text.strip()


def check(text: str, evidence: Sequence[Evidence]) -> LLMAnswer:
    """Map the reply's ``[n]`` markers to ``evidence`` and find what does not check out.

    Args:
        text: The model's answer.
        evidence: The pairs in the order they were numbered in the prompt.

    Returns:
        The answer with invalid markers removed, a citation per pair cited (numbered as in
        the prompt, in order of first use), the uncited sentences and the dropped numbers.
    """
    dropped: list[int] = []
    clean = _MARKER.sub(lambda m: _keep_valid(m, len(evidence), dropped), text)
    clean = re.sub(r"[ \t]+([.,;:!?])", r"\1", clean)
    sentences = _attach_leading_markers(split_sentences(clean))
    citations: dict[int, Citation] = {}
    uncited = []
    for sentence in sentences:
        numbers = _numbers(sentence)
        if not numbers:
            uncited.append(sentence)
        for number in numbers:
            item = evidence[number - 1]
            cited = citations.setdefault(number, Citation(number, item.id, item.source))
            cited.sentences.append(_MARKER.sub("", sentence).strip())
    answer = Answer(text=clean.strip(), citations=list(citations.values()))
    return LLMAnswer(answer=answer, uncited=uncited, dropped=sorted(set(dropped)))


def _keep_valid(match: re.Match[str], given: int, dropped: list[int]) -> str:
    numbers = [int(n) for n in match.group(1).split(",")]
    valid = [n for n in numbers if 1 <= n <= given]
    dropped.extend(n for n in numbers if n not in valid)
    return "".join(f"[{n}]" for n in valid)


def _numbers(sentence: str) -> list[int]:
    found = (int(n) for m in _MARKER.finditer(sentence) for n in m.group(1).split(","))
    return list(dict.fromkeys(found))


def _attach_leading_markers(sentences: list[str]) -> list[str]:
    """Move markers that open a sentence to the end of the sentence before it."""
    merged: list[str] = []
    for sentence in sentences:
        lead = _LEADING_MARKERS.match(sentence)
        if lead and merged:
            merged[-1] = f"{merged[-1]} {lead.group(0).strip()}"
            sentence = sentence[lead.end() :].strip()
        if sentence:
            merged.append(sentence)
    return merged
