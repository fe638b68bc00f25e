"""One FAISS index over one vector field: exact (flat) when small, HNSW when large.

Vectors are L2-normalised before they get here, so inner product is cosine similarity.
Records are addressed by int64 ids that are never reused (the local store's ``vid``).

A removal only marks the id as a tombstone: HNSW cannot remove vectors, and a flat
index's ``remove_ids`` rewrites the whole array (about 5 ms per field at 20,000 records,
paid by every process on every replaced or deleted pair). Searches exclude tombstones with
an ``IDSelector`` and :meth:`AnnIndex.rebuilt` compacts the index once tombstones pass a
fraction of it (:data:`FLAT_MAX_TOMBSTONE_RATIO` for flat indexes, where compacting costs
one copy of the vectors). A filtered HNSW search that finds fewer hits than match
falls back to an exact search over the matching ids, so filters never lose hits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from medkb.stores.vector.validation import Matrix

Ids = npt.NDArray[np.int64]

#: Compact a flat index once this fraction of its vectors are tombstones.
FLAT_MAX_TOMBSTONE_RATIO = 0.1


class _LazyFaiss:
    """The ``faiss`` module, imported on first use: it takes a third of a second, and a
    process that only counts or fetches records never needs it."""

    def __getattr__(self, name: str) -> Any:
        import faiss

        return getattr(faiss, name)


# faiss-cpu's bundled stubs lack SearchParametersHNSW, ``sel=`` and IndexIDMap internals.
_faiss: Any = _LazyFaiss()


@dataclass(frozen=True)
class HnswParams:
    """Tuning of the HNSW indexes; the defaults suit 384-dim sentence embeddings."""

    #: Graph degree: higher is more accurate, bigger and slower to build.
    m: int = 32
    #: Candidate list size while building.
    ef_construction: int = 80
    #: Candidate list size while searching (raised to ``k`` when ``k`` is larger).
    ef_search: int = 64
    #: Rebuild once this fraction of the indexed vectors are tombstones.
    max_tombstone_ratio: float = 0.25


class AnnIndex:
    """A FAISS index of one field, keyed by int64 ids, flat or HNSW."""

    def __init__(self, dimension: int, *, hnsw: HnswParams | None) -> None:
        """Create an empty index; ``hnsw=None`` makes it exact (``IndexFlatIP``)."""
        self.dimension = dimension
        self.hnsw = hnsw
        self._index: Any = _faiss.IndexIDMap2(self._base_index())
        self._live: set[int] = set()
        self._tombstones: set[int] = set()

    @property
    def is_hnsw(self) -> bool:
        return self.hnsw is not None

    @property
    def live_count(self) -> int:
        return len(self._live)

    @property
    def tombstone_count(self) -> int:
        return len(self._tombstones)

    def _base_index(self) -> Any:
        if self.hnsw is None:
            return _faiss.IndexFlatIP(self.dimension)
        base = _faiss.IndexHNSWFlat(self.dimension, self.hnsw.m, _faiss.METRIC_INNER_PRODUCT)
        base.hnsw.efConstruction = self.hnsw.ef_construction
        return base

    def add(self, ids: Ids, vectors: Matrix) -> None:
        """Add unit vectors under ids; ids the index already holds (live or tombstone) are
        skipped, so applying one change twice never stores a vector twice."""
        live, dead = self._live, self._tombstones
        fresh = np.asarray([i not in live and i not in dead for i in ids.tolist()], dtype=bool)
        if not fresh.any():
            return
        chosen = np.asarray(ids, np.int64)[fresh]
        self._index.add_with_ids(np.ascontiguousarray(vectors[fresh]), chosen)
        self._live.update(chosen.tolist())

    def remove(self, ids: Ids) -> None:
        """Remove ids (unknown ids are ignored) by marking them as tombstones."""
        known = [int(i) for i in ids if int(i) in self._live]
        self._live.difference_update(known)
        self._tombstones.update(known)

    def needs_rebuild(self, exact_threshold: int) -> bool:
        """Whether the index should change kind or shed its tombstones."""
        if self.hnsw is None:
            ratio = FLAT_MAX_TOMBSTONE_RATIO
            if self.live_count > exact_threshold:
                return True
        else:
            ratio = self.hnsw.max_tombstone_ratio
            if self.live_count == 0:
                return True  # an empty HNSW index: start again flat
        return bool(self.tombstone_count > ratio * self._index.ntotal)

    def rebuilt(self, exact_threshold: int, hnsw: HnswParams) -> AnnIndex:
        """A compacted copy of the live vectors, HNSW above ``exact_threshold``, else flat."""
        live = np.fromiter(sorted(self._live), dtype=np.int64, count=self.live_count)
        fresh = AnnIndex(self.dimension, hnsw=hnsw if self.live_count > exact_threshold else None)
        fresh.add(live, self.vectors(live))
        return fresh

    def vectors(self, ids: Ids) -> Matrix:
        """The stored unit vectors of ``ids`` (all must be in the index)."""
        if len(ids) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        found: Matrix = self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64))
        return found

    def search(
        self, query: Matrix, k: int, allowed: Ids | None, *, exact_threshold: int
    ) -> list[tuple[int, float]]:
        """The ``k`` best ``(id, cosine)`` pairs among ``allowed`` ids (``None``: all live).

        Args:
            query: one unit vector, shape ``(1, dimension)``.
            k: how many hits to return at most.
            allowed: ids the caller may see; ids not in the index are ignored.
            exact_threshold: subsets up to this size are searched exactly.
        """
        if k <= 0 or self.live_count == 0 or (allowed is not None and len(allowed) == 0):
            return []
        if self.hnsw is None:
            return self._flat_search(query, k, allowed)
        return self._hnsw_search(query, k, allowed, exact_threshold=exact_threshold)

    def _flat_search(self, query: Matrix, k: int, allowed: Ids | None) -> list[tuple[int, float]]:
        if allowed is not None:
            dead = self._dead()
            selector = _faiss.IDSelectorBatch(allowed[~np.isin(allowed, dead)])
        else:
            selector = self._not_dead()
        if selector is None:
            return self._faiss_search(query, k, None)
        return self._faiss_search(query, k, _faiss.SearchParameters(sel=selector))

    def _dead(self) -> Ids:
        return np.fromiter(self._tombstones, dtype=np.int64, count=self.tombstone_count)

    def _not_dead(self) -> Any:
        """A selector of every id but the tombstones (``None`` when there are none).

        Cheaper than a batch of every live id: tombstones stay below a fraction of the index.
        """
        if not self._tombstones:
            return None
        return _faiss.IDSelectorNot(_faiss.IDSelectorBatch(self._dead()))  # Not keeps a ref

    def _hnsw_search(
        self, query: Matrix, k: int, allowed: Ids | None, *, exact_threshold: int
    ) -> list[tuple[int, float]]:
        assert self.hnsw is not None
        candidates = None if allowed is None else self._live_among(allowed)
        if candidates is not None and len(candidates) <= exact_threshold:
            return self._exact_search(query, k, candidates)
        selector = self._not_dead() if candidates is None else _faiss.IDSelectorBatch(candidates)
        params = _faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.hnsw.ef_search, k))
        hits = self._faiss_search(query, k, params)
        expected = min(k, self.live_count if candidates is None else len(candidates))
        if len(hits) < expected:
            # A selective filter can strand the graph walk; the exact search cannot miss.
            everything = np.fromiter(self._live, dtype=np.int64, count=self.live_count)
            hits = self._exact_search(query, k, everything if candidates is None else candidates)
        return hits

    def _live_among(self, allowed: Ids) -> Ids:
        """The live ids among ``allowed`` (which may name ids this index does not hold)."""
        live = [int(i) for i in allowed if int(i) in self._live]
        return np.asarray(live, dtype=np.int64)

    def _exact_search(self, query: Matrix, k: int, ids: Ids) -> list[tuple[int, float]]:
        if len(ids) == 0:
            return []
        scores = self.vectors(ids) @ query[0]
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(ids[i]), float(scores[i])) for i in top]

    def _faiss_search(self, query: Matrix, k: int, params: Any) -> list[tuple[int, float]]:
        # One query runs faster on one OpenMP thread (10x on a 2-core machine: waking the
        # team costs more than the scan). omp_set_num_threads only affects this thread.
        previous = _faiss.omp_get_max_threads()
        _faiss.omp_set_num_threads(1)
        try:
            scores, ids = self._index.search(query, min(k, self._index.ntotal), params=params)
        finally:
            _faiss.omp_set_num_threads(previous)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def save(self, path: Path) -> None:
        """Write the index to ``path`` atomically (temp file, then rename)."""
        temporary = path.with_suffix(path.suffix + ".tmp")
        _faiss.write_index(self._index, str(temporary))
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path, *, hnsw: HnswParams, live: set[int]) -> AnnIndex:
        """Read an HNSW index written by :meth:`save`; ids not in ``live`` become tombstones."""
        index = _faiss.read_index(str(path))
        loaded = cls(index.d, hnsw=hnsw)
        loaded._index = index
        stored = {int(i) for i in _faiss.vector_to_array(index.id_map)}
        loaded._live = stored & live
        loaded._tombstones = stored - live
        return loaded

    def stored_ids(self) -> set[int]:
        """Every id in the FAISS index, live or tombstone."""
        return self._live | self._tombstones
