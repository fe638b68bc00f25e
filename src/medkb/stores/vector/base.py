"""The vector store contract: a derived, rebuildable index of the pairs' three embeddings.

Every backend (``local``, ``milvus``, ``pgvector``) implements :class:`VectorStore` and
passes ``tests/contract/test_vector_store.py``. The relational store is the system of
record; a vector store may be wiped and rebuilt from it at any time, so every write here
is idempotent (upsert by id, delete by id).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from medkb.models import Vector, VectorField, VectorHit, VectorRecord

#: ``{"category": ["Cardiology"], "source": ["CDC", "NIDDK"]}``: keys AND, values OR.
Filters = Mapping[str, Sequence[str]]

COLLECTION = "medical_knowledge_base"


@runtime_checkable
class VectorStore(Protocol):
    """A collection of :class:`VectorRecord` searchable on each of the three vector fields."""

    dimension: int

    def upsert(self, records: Sequence[VectorRecord]) -> None:
        """Insert or replace records by id. All or nothing where the backend allows."""

    def delete(self, ids: Sequence[str]) -> None:
        """Remove records by id; unknown ids are ignored."""

    def search(
        self,
        vector: Vector,
        *,
        field: VectorField,
        k: int,
        tenant_id: str,
        filters: Filters | None = None,
    ) -> list[VectorHit]:
        """Return up to ``k`` hits of ``tenant_id`` by cosine similarity, best first.

        Filters are applied before ranking: when ``k`` matching records exist, ``k`` come back.
        """

    def fetch(self, ids: Sequence[str]) -> list[VectorRecord]:
        """Return the stored records for ``ids`` (missing ids are skipped)."""

    def ids(self, tenant_id: str | None = None) -> Iterator[str]:
        """Every stored id (of one tenant, or all)."""

    def count(self, tenant_id: str | None = None) -> int:
        """Number of stored records (of one tenant, or all)."""

    def close(self) -> None:
        """Release files, connections and clients."""
