"""medkb: a medical Q&A knowledge base kept in a relational and a vector store, in sync.

>>> import medkb
>>> with medkb.open("medkb-data", embedder="static") as kb:
...     kb.ingest(["faq.pdf"])
...     print(kb.query("What are the symptoms of hypertension?").answer)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from medkb.app import KnowledgeBase


def open(target: Any = None, **overrides: Any) -> KnowledgeBase:
    """Open a knowledge base by home directory or Settings; see :func:`medkb.app.open`."""
    from medkb.app import open as _open

    return _open(target, **overrides)
