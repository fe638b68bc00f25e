"""The learned half of triage: a linear model over a message's words and letter groups.

Cues and numbers catch the phrasings someone foresaw. Measured on sets written after the
cues were frozen, each new set still held about one emergency in ten told in words no cue
foresaw ("mouth is pulled to one side", "came off his motorbike"). A model that has read
every labelled message generalises over such paraphrases better than a longer cue list.

The model is a multinomial logistic regression with one class per category and one for
"not an emergency". Its features are TF-IDF weights (sublinear term frequency, each block
scaled to unit length) of word 1–2-grams and of character 3–5-grams inside each word
padded with spaces, with every digit read as ``0`` (numbers are judged by
:mod:`medkb.answer.thresholds`, not here). ``bench/train_triage.py`` trains it on every
labelled triage set in ``tests/data`` and chooses its thresholds out of fold; the result
ships as ``triage_model.npz`` beside this module, and scoring a message needs numpy only
(well under a millisecond).
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

MODEL_PATH = Path(__file__).with_name("triage_model.npz")
#: The class of messages that are not emergencies.
CALM = "none"
_TOKEN = re.compile(r"[a-z0-9]+")
_DIGIT = re.compile(r"[0-9]")
_CHAR_SIZES = (3, 4, 5)
#: How a feature's name says its block: word n-grams, then character n-grams.
BLOCKS = ("w:", "c:")
#: Fewer words than this is a search ("chest pain", "asthma wheezing inhaler"), not a
#: message: the model learned from messages and is not asked. No labelled emergency this
#: short depends on it (the one there is, "I can't breathe", is a cue).
MIN_WORDS = 4


def reads_as_message(norm: str) -> bool:
    """Whether a normalised text is long enough for the model to judge (:data:`MIN_WORDS`)."""
    return len(_TOKEN.findall(norm)) >= MIN_WORDS


def grams(norm: str) -> tuple[Counter[str], Counter[str]]:
    """The word 1–2-grams and the in-word character 3–5-grams of a normalised message."""
    words = _TOKEN.findall(_DIGIT.sub("0", norm))
    word = Counter(words)
    word.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    char: Counter[str] = Counter()
    for token in words:
        padded = f" {token} "
        for size in _CHAR_SIZES:
            char.update(padded[i : i + size] for i in range(len(padded) - size + 1))
    return word, char


@dataclass(frozen=True)
class Guess:
    """What the model makes of a message."""

    #: Probability that the message is an emergency (1 minus the calm class's).
    emergency: float
    #: The most likely emergency category and its probability.
    category: str
    probability: float


class Model:
    """A trained model: vocabulary, idf, weights and its thresholds.

    Args:
        vocabulary: Feature names (``w:…`` and ``c:…``), in column order.
        idf: Inverse document frequency per column.
        weights: ``classes × columns`` coefficients.
        bias: One intercept per class.
        classes: Class names; one of them is :data:`CALM`.
        flag: Emergency probability at which the model flags on its own.
        boost: Emergency probability at which it completes a category half-scored by cues.
    """

    def __init__(
        self,
        vocabulary: list[str],
        idf: npt.NDArray[np.float32],
        weights: npt.NDArray[np.float32],
        bias: npt.NDArray[np.float32],
        classes: list[str],
        flag: float,
        boost: float,
    ) -> None:
        self.columns = {name: index for index, name in enumerate(vocabulary)}
        self.idf = idf.astype(np.float32)
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.classes = classes
        self.flag = flag
        self.boost = boost
        self._calm = classes.index(CALM)

    def features(self, norm: str) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """The message's nonzero columns and their values."""
        indexes: list[int] = []
        values: list[float] = []
        for prefix, counts in zip(BLOCKS, grams(norm), strict=True):
            start = len(values)
            for gram, count in counts.items():
                column = self.columns.get(prefix + gram)
                if column is not None:
                    indexes.append(column)
                    values.append((1.0 + math.log(count)) * float(self.idf[column]))
            length = math.sqrt(sum(v * v for v in values[start:]))
            if length:
                values[start:] = [v / length for v in values[start:]]
        return np.array(indexes, dtype=np.intp), np.array(values, dtype=np.float32)

    def probabilities(self, norm: str) -> npt.NDArray[np.float32]:
        """Every class's probability for a normalised message."""
        indexes, values = self.features(norm)
        logits = self.bias + self.weights[:, indexes] @ values
        logits -= logits.max()
        exp = np.exp(logits)
        chances: npt.NDArray[np.float32] = exp / exp.sum()
        return chances

    def guess(self, norm: str) -> Guess:
        """The emergency probability and the likeliest category of a normalised message."""
        chances = self.probabilities(norm)
        ranked = [i for i in np.argsort(-chances) if i != self._calm]
        best = int(ranked[0])
        return Guess(1.0 - float(chances[self._calm]), self.classes[best], float(chances[best]))

    def save(self, path: Path) -> None:
        """Write the model as a compressed ``.npz`` (weights as float16)."""
        names = sorted(self.columns, key=self.columns.__getitem__)
        np.savez_compressed(
            path,
            vocabulary=np.array(names),
            idf=self.idf.astype(np.float16),
            weights=self.weights.astype(np.float16),
            bias=self.bias,
            classes=np.array(self.classes),
            thresholds=np.array([self.flag, self.boost], dtype=np.float64),
        )

    @classmethod
    def load(cls, path: Path) -> Model:
        """Read a model written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            flag, boost = (float(x) for x in data["thresholds"])
            return cls(
                [str(name) for name in data["vocabulary"]],
                data["idf"],
                data["weights"],
                data["bias"],
                [str(name) for name in data["classes"]],
                flag,
                boost,
            )


_LOCK = threading.Lock()


@cache
def _shipped() -> Model:
    return Model.load(MODEL_PATH)


def shipped_model() -> Model:
    """The model shipped with medkb, read once per process."""
    with _LOCK:
        return _shipped()
