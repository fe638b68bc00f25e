"""Stable, content-derived ids for ingested Q&A pairs.

An id is derived from the parts that identify a pair (for a document: its file name and
question), so ingesting the same document again yields the same ids and updates the stored
pairs in place instead of adding duplicates.
"""

from __future__ import annotations

import hashlib

#: Joins id parts; a control character that never occurs in file names or questions.
SEPARATOR = "\x1f"
PREFIX = "qa-"
_HEX_CHARS = 16


def make_id(*parts: str) -> str:
    """Derive a stable pair id from its identifying parts.

    Args:
        *parts: the strings that identify the pair, e.g. ``(file name, question)``.

    Returns:
        ``"qa-"`` followed by the first 16 hex digits of the SHA-256 of the parts joined
        by ``\\x1f``, e.g. ``make_id("faq.pdf", "What is asthma?")``.
    """
    if not parts:
        raise ValueError("make_id needs at least one part")
    digest = hashlib.sha256(SEPARATOR.join(parts).encode("utf-8")).hexdigest()
    return PREFIX + digest[:_HEX_CHARS]
