"""Telling a vector store that is down from rows it rejects (``medkb.sync.isolate``).

Faults are injected on top of a real local index (FAISS + SQLite in ``tmp_path``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from medkb.errors import VectorStoreError
from medkb.models import VectorRecord
from medkb.stores.vector.local import LocalVectorStore
from medkb.sync.isolate import looks_down, write_isolating
from tests.contract.test_vector_store import random_records

DIMENSION = 8


class Faulty:
    """A real store that rejects ``bad`` ids, and fails every write after ``dies_after``."""

    def __init__(self, inner: LocalVectorStore, bad: set[str], dies_after: int | None = None):
        self.inner, self.bad, self.dies_after, self.writes = inner, bad, dies_after, 0

    def upsert(self, records: Sequence[VectorRecord]) -> None:
        self.writes += 1
        if self.dies_after is not None and self.writes > self.dies_after:
            raise VectorStoreError("internal error (injected)")
        refused = [r.id for r in records if r.id in self.bad]
        if refused:
            raise VectorStoreError(f"record {refused[0]} refused (injected)")
        self.inner.upsert(records)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalVectorStore]:
    store = LocalVectorStore(tmp_path / "vectors", dimension=DIMENSION)
    yield store
    store.close()


def write(store: Faulty, count: int) -> dict[str, str]:
    records = random_records(count, DIMENSION)
    return write_isolating(store, records, [r.id for r in records])  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [{"r000"}, {"r511"}, {"r999"}, {"r000", "r999", "r400"}])
def test_rejected_rows_are_found_and_the_rest_written(
    local: LocalVectorStore, bad: set[str]
) -> None:
    store = Faulty(local, bad)
    failed = write(store, 1000)
    assert set(failed) == bad and all("refused (injected)" in e for e in failed.values())
    assert local.count() == 1000 - len(bad)
    assert store.writes <= len(bad) * (2 * 10 + 2) + 1  # a bisection per bad row, not 1000


def test_a_store_refusing_everything_is_down_after_a_few_writes(local: LocalVectorStore) -> None:
    store = Faulty(local, set(), dies_after=0)
    with pytest.raises(VectorStoreError, match="internal error"):
        write(store, 1000)
    assert store.writes <= 2 * 10 + 2 + 1  # log2(1000) levels of two halves, one probe


def test_a_store_dying_mid_bisection_parks_nothing(local: LocalVectorStore) -> None:
    store = Faulty(local, {"r000"}, dies_after=8)
    with pytest.raises(VectorStoreError):
        write(store, 1000)


def test_a_connection_error_is_down_at_once(local: LocalVectorStore) -> None:
    class Refused(Faulty):
        def upsert(self, records: Sequence[VectorRecord]) -> None:
            self.writes += 1
            try:
                raise ConnectionRefusedError(111, "Connection refused")
            except OSError as exc:
                raise VectorStoreError("the server failed") from exc

    store = Refused(local, set())
    with pytest.raises(VectorStoreError):
        write(store, 100)
    assert store.writes == 1


def test_looks_down() -> None:
    assert looks_down(VectorStoreError("pgvector: server is not reachable"))
    assert looks_down(VectorStoreError("Milvus: <_InactiveRpcError StatusCode.UNAVAILABLE>"))
    assert not looks_down(VectorStoreError("record x rejected: text too long"))


def test_looks_down_survives_a_cause_chain_that_loops() -> None:
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first  # as gRPC errors can leave them
    error = VectorStoreError("record x rejected")
    error.__cause__ = first
    assert not looks_down(error)
