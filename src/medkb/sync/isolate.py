"""Isolating the records a vector store rejects, so one bad row cannot block the outbox.

A claim writes up to ``claim_rows`` ids at once, and a vector store write is all or
nothing. When it fails, :func:`write_isolating` tells a store that is *down* (every write
fails) from *rows it rejects* (only some writes fail):

* an error that says the store is unreachable (a connection-type cause such as
  ``ConnectionError``, ``TimeoutError`` or a driver's ``OperationalError``, or a message
  such as "connection refused") is re-raised at once: the caller backs the whole batch
  off, as before;
* any other error bisects the batch: both halves are written, a half that fails is split
  again, and a single id that fails alone is *rejected*. Each rejection is first confirmed
  by writing one other id (one already written, or the batch's last id while nothing has
  been): when that fails too the store is down after all and the original error is
  re-raised, so a store that dies mid-way never gets good ids parked as failed.

Cost: about ``2·log2(n) + 1`` writes per rejected id; a down store that does not say so
costs ``2·log2(n) + 2`` writes before the batch backs off. Two rejected ids are only taken
for a down store when no write at all succeeds before the first single id is reached.
"""

from __future__ import annotations

from collections.abc import Sequence

from medkb.errors import VectorStoreError
from medkb.models import VectorRecord
from medkb.stores.vector.base import VectorStore

#: Exception types (anywhere in the cause chain) that mean the store, not a row, failed.
_DOWN_TYPES: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
#: Driver exception class names that mean the same (psycopg / sqlite3 ``OperationalError``,
#: gRPC / Milvus "unavailable"), matched by name so no driver is imported here.
_DOWN_NAMES = ("operationalerror", "unavailable", "connectionerror", "timeout")
#: Message fragments that mean the same.
_DOWN_TEXT = (
    "connection refused",
    "connection reset",
    "unavailable",
    "not reachable",
    "timed out",
    "timeout",
    "deadline exceeded",
    "is closed",
)


def looks_down(exc: BaseException) -> bool:
    """Whether ``exc`` says the vector store itself is unreachable (not that it refused a row)."""
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and all(link is not known for known in chain):  # chains can loop
        chain.append(link)
        link = link.__cause__ or link.__context__
    for link in chain:
        if isinstance(link, _DOWN_TYPES):
            return True
        if any(part in type(link).__name__.lower() for part in _DOWN_NAMES):
            return True
    text = str(exc).lower()
    return any(part in text for part in _DOWN_TEXT)


def write_records(store: VectorStore, records: Sequence[VectorRecord], ids: Sequence[str]) -> None:
    """Upsert ``records`` and delete the ``ids`` they do not cover."""
    present = {record.id for record in records}
    if records:
        store.upsert(records)
    gone = [qa_id for qa_id in ids if qa_id not in present]
    if gone:
        store.delete(gone)


def write_isolating(
    store: VectorStore, records: Sequence[VectorRecord], ids: Sequence[str]
) -> dict[str, str]:
    """Write ``ids`` (upserting ``records``); return the ids the store rejected, with why.

    Raises:
        VectorStoreError: the store is down; nothing can be said about single rows.
    """
    try:
        write_records(store, records, ids)
    except VectorStoreError as exc:
        if looks_down(exc):
            raise
        isolator = _Isolator(store, records, ids, first_error=exc)
        isolator.split(list(ids), exc)
        return isolator.failed
    return {}


class _Isolator:
    """One bisection of a failed batch (see the module docstring)."""

    def __init__(
        self,
        store: VectorStore,
        records: Sequence[VectorRecord],
        ids: Sequence[str],
        *,
        first_error: VectorStoreError,
    ) -> None:
        self.store, self.first_error = store, first_error
        self.records = {record.id: record for record in records}
        self.ids = list(ids)
        self.written: str | None = None  # an id written successfully, to confirm with
        self.failed: dict[str, str] = {}

    def split(self, ids: list[str], error: VectorStoreError) -> None:
        """``ids`` failed with ``error``: write each half, splitting the ones that fail."""
        if len(ids) == 1:
            self._reject(ids[0], error)
            return
        half = len(ids) // 2
        # Both halves first, then into the failing ones: a rejection is confirmed against
        # an id written meanwhile wherever possible, not against an untried one.
        tried = [(part, self._try(part)) for part in (ids[:half], ids[half:])]
        for part, failure in tried:
            if failure is not None:
                self.split(part, failure)

    def _reject(self, qa_id: str, error: VectorStoreError) -> None:
        """Record ``qa_id`` as rejected once another id still writes."""
        probe = self.written or next((i for i in reversed(self.ids) if i != qa_id), None)
        if probe is not None and self._try([probe]) is not None:
            raise self.first_error  # another id fails as well: the store is down
        self.failed[qa_id] = str(error)

    def _try(self, ids: list[str]) -> VectorStoreError | None:
        """Write ``ids``; the error when the store refused, ``None`` when written."""
        try:
            write_records(self.store, [self.records[i] for i in ids if i in self.records], ids)
        except VectorStoreError as exc:
            if looks_down(exc):
                raise
            return exc
        self.written = ids[-1]
        return None
