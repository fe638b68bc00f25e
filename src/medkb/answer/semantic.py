"""The semantic half of triage: how near a message is to each curated emergency situation.

The situations and their calm counterparts (:mod:`medkb.answer.prototypes`) are embedded
once per embedding model and process (:func:`prototype_index`, cached by ``model_id``);
matching a message is then one matrix product with its vector — the vector the search step
already computed for the query, when there is one — so the step costs microseconds.

For each category the match reports the best cosine to one of its situations and the
*margin*: that cosine minus the best cosine to one of the category's calm texts, so a
message that is as near to "what are the signs of a stroke" as to "her face has dropped
on one side" does not count as a stroke.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from medkb.answer.prototypes import CALM, SITUATIONS
from medkb.embed.base import Embedder

Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Nearest:
    """A category's nearest situation to a message."""

    category: str
    situation: str
    cosine: float
    margin: float


class PrototypeIndex:
    """The situations and calm texts of every category, embedded by one model.

    Args:
        encoder: The embedder; its ``embed`` is called twice, here.
    """

    def __init__(self, encoder: Embedder) -> None:
        self.model_id = encoder.model_id
        self.situations = [(cat, text) for cat, texts in SITUATIONS.items() for text in texts]
        calm = [(cat, text) for cat, texts in CALM.items() for text in texts]
        self.categories = list(SITUATIONS)
        self._situation_vectors = encoder.embed([text for _, text in self.situations])
        calm_vectors = encoder.embed([text for _, text in calm])
        self._owner = np.array([self.categories.index(cat) for cat, _ in self.situations])
        self._calm_owner = np.array([self.categories.index(cat) for cat, _ in calm])
        self._calm_vectors = calm_vectors

    def nearest(self, vector: Float32Array) -> list[Nearest]:
        """Per category, its best situation for the unit ``vector``, best first."""
        cosines = self._situation_vectors @ vector
        calm = self._calm_vectors @ vector
        found = []
        for index, category in enumerate(self.categories):
            mine = np.flatnonzero(self._owner == index)
            best = int(mine[np.argmax(cosines[mine])])
            calm_mine = calm[self._calm_owner == index]
            calm_best = float(calm_mine.max()) if calm_mine.size else -1.0
            cosine = float(cosines[best])
            found.append(Nearest(category, self.situations[best][1], cosine, cosine - calm_best))
        return sorted(found, key=lambda item: -item.cosine)


_INDEXES: dict[str, PrototypeIndex] = {}
_LOCK = threading.Lock()


def prototype_index(encoder: Embedder) -> PrototypeIndex:
    """The :class:`PrototypeIndex` of ``encoder``'s model, built on first use per process."""
    with _LOCK:
        index = _INDEXES.get(encoder.model_id)
        if index is None:
            index = _INDEXES[encoder.model_id] = PrototypeIndex(encoder)
        return index
