"""Checks and conversions every vector backend shares: filters, dimensions, vectors.

Kept apart from the backends so each one rejects the same bad input with the same message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from medkb.errors import InputError, VectorStoreError
from medkb.models import FILTERABLE_KEYS, VECTOR_FIELDS, Vector, VectorRecord
from medkb.stores.vector.base import Filters

Matrix = npt.NDArray[np.float32]


def checked_filters(filters: Filters | None) -> dict[str, list[str]]:
    """Validate a filter mapping and return it as plain lists.

    Keys must be in :data:`medkb.models.FILTERABLE_KEYS`. A key whose value list is empty
    places no constraint and is dropped. A bare string is taken as a one-value list (a
    common slip: ``{"category": "Cardiology"}``).

    Raises:
        InputError: a key the vector store cannot filter on.
    """
    checked: dict[str, list[str]] = {}
    for key, values in (filters or {}).items():
        if key not in FILTERABLE_KEYS:
            raise InputError(
                f"Cannot filter vector search on {key!r}: the vector store keeps only "
                f"{', '.join(FILTERABLE_KEYS)}. Filter on other metadata after the search."
            )
        listed = [values] if isinstance(values, str) else [str(value) for value in values]
        if listed:
            checked[key] = listed
    return checked


def as_vector(values: Iterable[float] | Vector, *, dimension: int, what: str) -> Vector:
    """Return ``values`` as a 1-D float32 vector of ``dimension`` entries.

    Raises:
        VectorStoreError: the vector has another length than the store's dimension.
    """
    vector = np.asarray(values, dtype=np.float32).reshape(-1)
    if vector.shape[0] != dimension:
        raise VectorStoreError(
            f"{what} has {vector.shape[0]} dimensions but this vector store holds "
            f"{dimension}-dimensional vectors. Use the embedding model the store was built "
            "with, or rebuild the vector store for the new model."
        )
    return vector


def check_record(record: VectorRecord, dimension: int) -> None:
    """Check that every embedding of ``record`` has the store's dimension."""
    for name in VECTOR_FIELDS:
        as_vector(
            record.embeddings.get(name),
            dimension=dimension,
            what=f"The {name} embedding of record {record.id!r}",
        )


def last_per_id(records: Sequence[VectorRecord]) -> list[VectorRecord]:
    """Drop all but the last record of each id, keeping first-seen order (upsert semantics)."""
    by_id: dict[str, VectorRecord] = {}
    for record in records:
        by_id.pop(record.id, None)
        by_id[record.id] = record
    return list(by_id.values())


def unit_rows(matrix: Matrix) -> Matrix:
    """L2-normalise each row (zero rows stay zero), so inner product is cosine similarity."""
    rows = np.array(matrix, dtype=np.float32, ndmin=2)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    normalised: Matrix = (rows / norms).astype(np.float32)
    return normalised


def ordered(found: dict[str, VectorRecord], ids: Sequence[str]) -> list[VectorRecord]:
    """The records of ``found`` in the order of ``ids``, each once, missing ids skipped."""
    result: list[VectorRecord] = []
    seen: set[str] = set()
    for record_id in ids:
        if record_id in found and record_id not in seen:
            seen.add(record_id)
            result.append(found[record_id])
    return result
