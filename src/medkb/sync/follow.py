"""Following the active vector collection, so a long-running worker survives ``medkb reembed``.

``medkb reembed`` builds a new collection beside the active one and switches ``kb_info``
(:data:`~medkb.stores.vector.registry.COLLECTION_KEY`) to it in one transaction; the old
collection is then dropped. A worker that kept the store it opened at start would go on
writing to the retired collection. :class:`ActiveStore` reads the active collection's
name before each claim (one primary-key lookup) and reopens the store when it changed.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from medkb.stores.relational.schema import kb_info
from medkb.stores.vector.base import COLLECTION, VectorStore
from medkb.stores.vector.registry import COLLECTION_KEY

#: Opens the named collection of the knowledge base's vector store.
Opener = Callable[[str], VectorStore]


def active_collection(conn: sa.Connection) -> str:
    """The collection ``kb_info`` names as active (the default one when it names none)."""
    query = sa.select(kb_info.c.value).where(kb_info.c.key == COLLECTION_KEY)
    found: str | None = conn.execute(query).scalar_one_or_none()
    return found or COLLECTION


class ActiveStore:
    """The vector store of the active collection, reopened when ``kb_info`` switches it.

    ``collection`` names the collection ``store`` holds (default: the active one now).
    Without an ``opener`` it always returns the store it was given. The store it was given
    stays its owner's to close; the ones it opened itself are closed here.
    """

    def __init__(
        self,
        engine: sa.Engine,
        store: VectorStore,
        *,
        opener: Opener | None = None,
        collection: str | None = None,
    ) -> None:
        self.engine, self.store, self.opener = engine, store, opener
        if opener is not None and collection is None:
            with engine.connect() as conn:
                collection = active_collection(conn)  # the one ``store`` was opened on
        self.collection = collection
        self._given = (store, collection)
        self._owned = False

    def current(self) -> VectorStore:
        """The store to write to now: reopened first if the active collection changed."""
        if self.opener is None:
            return self.store
        with self.engine.connect() as conn:
            active = active_collection(conn)
        if active != self.collection:
            opened = self.opener(active)
            self.close()
            self.store, self.collection, self._owned = opened, active, True
        return self.store

    def close(self) -> None:
        """Close the store if this object opened it (and fall back to the one given)."""
        if self._owned:
            self.store.close()
            self.store, self.collection = self._given
            self._owned = False
