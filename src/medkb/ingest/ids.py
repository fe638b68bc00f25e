"""Stable, content-derived ids for ingested Q&A pairs.

An id is derived from the parts that identify a pair (for a document: its file name and
question), so ingesting the same document again yields the same ids and updates the stored
pairs in place instead of adding duplicates.

Ids are one primary key across tenants, so a tenant other than the default one derives
them in its own namespace (the tenant id is one more part): two tenants ingesting the same
document get different ids, and neither learns from a refused id that the other has it.
The default tenant's ids are derived exactly as before tenants existed.
"""

from __future__ import annotations

import hashlib

from medkb.models import DEFAULT_TENANT

#: Joins id parts; a control character that never occurs in file names or questions.
SEPARATOR = "\x1f"
PREFIX = "qa-"
_HEX_CHARS = 16
#: Marks the namespace part; never part of a file name or question.
_NAMESPACE = "\x1e"


def id_namespace(tenant_id: str) -> str:
    """The namespace a tenant's ids are derived in: none for the default tenant."""
    return "" if tenant_id == DEFAULT_TENANT else tenant_id


def make_id(*parts: str, namespace: str = "") -> str:
    """Derive a stable pair id from its identifying parts.

    Args:
        *parts: the strings that identify the pair, e.g. ``(file name, question)``.
        namespace: :func:`id_namespace` of the tenant ingesting (``""``: the default).

    Returns:
        ``"qa-"`` followed by the first 16 hex digits of the SHA-256 of the parts joined
        by ``\\x1f``, e.g. ``make_id("faq.pdf", "What is asthma?")``.
    """
    if not parts:
        raise ValueError("make_id needs at least one part")
    if namespace:
        parts = (_NAMESPACE + namespace, *parts)
    digest = hashlib.sha256(SEPARATOR.join(parts).encode("utf-8")).hexdigest()
    return PREFIX + digest[:_HEX_CHARS]
