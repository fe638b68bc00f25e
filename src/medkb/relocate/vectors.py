"""The vector store's part of ``medkb migrate``: keep it, or rebuild it into a new one.

A vector store that does not live in the relational database (``local``, Milvus, a
pgvector with its own URL) stays where it is: it already holds what the copied tables say.
One that does (``pgvector`` = tables in MEDKB_DATABASE_URL), or a different ``--vector-url``,
is rebuilt from the stored embeddings of the target (:func:`medkb.sync.repair.rebuild`),
without re-embedding. Either way every tenant is verified id by id afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from medkb.app import active_collection
from medkb.config import Settings
from medkb.redact import mask_url
from medkb.stores.relational.schema import kb_info, tenants
from medkb.stores.vector.registry import open_vector_store
from medkb.sync.repair import apply_pending, rebuild
from medkb.sync.verify import VerifyReport, verify


@dataclass
class VectorMove:
    """What happened to the vector store, and how it verified."""

    url: str
    action: str  # kept | rebuilt | none (nothing embedded yet)
    collection: str = ""
    records: int = 0
    seconds: float = 0.0
    reports: list[VerifyReport] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Whether every tenant's vectors match the relational store."""
        return all_clean(self.reports)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view with drift counts per tenant."""
        return {
            "url": mask_url(self.url),
            "action": self.action,
            "collection": self.collection,
            "records": self.records,
            "seconds": round(self.seconds, 3),
            "clean": self.clean,
            "verify": drift_view(self.reports),
        }


def all_clean(reports: Sequence[VerifyReport]) -> bool:
    """Whether every tenant's ``sync verify`` report shows zero drift."""
    return all(report.clean for report in reports)


def drift_view(reports: Sequence[VerifyReport]) -> dict[str, dict[str, int]]:
    """Drift and vector count per tenant, JSON-ready (the reports' ``verify`` entry)."""
    return {r.tenant_id: {"drift": r.drift, "count": r.vector_count} for r in reports}


def depends_on_database(url: str) -> bool:
    """Whether the vector store ``url`` lives inside MEDKB_DATABASE_URL."""
    return url.strip() == "pgvector"


def move_vectors(settings: Settings, *, target: sa.Engine, vector_url: str | None) -> VectorMove:
    """Keep or rebuild the vector store for the migrated database ``target``; verify it.

    Raises:
        VectorStoreError: the vector store failed; the relational copy is complete, so
            ``medkb migrate`` can simply be run again (or ``medkb sync repair --rebuild``).
        ConfigError: ``vector_url`` has none of the accepted forms.
    """
    started = time.perf_counter()
    current = settings.resolved_vector_url().strip()
    chosen = (vector_url or current).strip()
    with target.connect() as conn:
        info = {row.key: row.value for row in conn.execute(sa.select(kb_info))}
        tenant_ids = list(conn.execute(sa.select(tenants.c.id).order_by(tenants.c.id)).scalars())
    if "embedding_dimension" not in info:
        return VectorMove(url=chosen, action="none")
    rebuilding = depends_on_database(chosen) or chosen != current
    move = VectorMove(url=chosen, action="rebuilt" if rebuilding else "kept")
    move.collection = active_collection(target)
    store = open_vector_store(
        chosen,
        dimension=int(info["embedding_dimension"]),
        home=settings.home,
        database_url=target.url.render_as_string(hide_password=False),
        collection=move.collection,
    )
    try:
        for tenant_id in tenant_ids:
            if rebuilding:
                rebuild(target, store, tenant_id=tenant_id)
        apply_pending(target, store)
        move.reports = [verify(target, store, tenant_id=t) for t in tenant_ids]
        move.records = store.count()
    finally:
        store.close()
    move.seconds = time.perf_counter() - started
    return move
