"""all-MiniLM-L6-v2's forward pass in numpy, for embedding a query without torch.

Importing torch and sentence-transformers takes seconds (8.7 s measured on a laptop, more
on a busy server), far longer than embedding one question. A query is a few dozen tokens;
six BERT layers of 384 dimensions over them are a handful of small matrix products, which
numpy does in milliseconds. So :class:`~medkb.embed.minilm.MiniLMEmbedder` embeds small
batches here and loads torch only for bulk work (ingest), where its batching pays.

The computation is sentence-transformers' exactly: WordPiece ids (truncated to 256), BERT
embeddings and six post-LayerNorm encoder layers with exact (erf) GELU, mean pooling over
the real tokens, L2 normalisation. ``tests/unit/test_embedders.py`` checks the vectors
against sentence-transformers' (``minilm`` marker).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from medkb.errors import missing_dependency

if TYPE_CHECKING:
    from tokenizers import Tokenizer

Array = npt.NDArray[np.float32]
MAX_TOKENS = 256
_LAYERS = 6
_HEADS = 12
_EPS = 1e-12


class NumpyMiniLM:
    """The encoder with its weights read from ``model_dir`` (``model.safetensors``).

    Args:
        model_dir: the packaged model's directory.
        tokenizer: its fast tokenizer; padding is turned off and truncation set to 256.
    """

    def __init__(self, model_dir: Path, tokenizer: Tokenizer) -> None:
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        try:
            from safetensors.numpy import load_file
        except ImportError as exc:
            raise missing_dependency("safetensors", "all", "The minilm embedder") from exc
        self.weights: dict[str, Array] = load_file(str(model_dir / "model.safetensors"))
        self.tokenizer = tokenizer

    def embed(self, texts: Sequence[str]) -> Array:
        """Unit-length ``(len(texts), 384)`` sentence embeddings, one text at a time (no
        padding, so every text sees exactly its own tokens)."""
        encodings = self.tokenizer.encode_batch(list(texts))
        with _one_blas_thread():
            rows = [self._sentence(np.asarray(e.ids, dtype=np.int64)) for e in encodings]
        return np.vstack(rows).astype(np.float32)

    def _sentence(self, ids: npt.NDArray[np.int64]) -> Array:
        w = self.weights
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: len(ids)]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w, "embeddings.LayerNorm")
        for layer in range(_LAYERS):
            x = self._layer(x, f"encoder.layer.{layer}.")
        pooled = x.mean(axis=0)
        return np.asarray(pooled / max(float(np.linalg.norm(pooled)), _EPS), dtype=np.float32)

    def _layer(self, x: Array, prefix: str) -> Array:
        w = self.weights
        attention = self._attention(x, prefix + "attention.self.")
        x = _layer_norm(
            x + _dense(attention, w, prefix + "attention.output.dense"),
            w,
            prefix + "attention.output.LayerNorm",
        )
        hidden = _gelu(_dense(x, w, prefix + "intermediate.dense"))
        return _layer_norm(
            x + _dense(hidden, w, prefix + "output.dense"), w, prefix + "output.LayerNorm"
        )

    def _attention(self, x: Array, prefix: str) -> Array:
        w = self.weights
        tokens, width = x.shape
        size = width // _HEADS

        def heads(name: str) -> Array:
            return _dense(x, w, prefix + name).reshape(tokens, _HEADS, size).transpose(1, 0, 2)

        query, key, value = heads("query"), heads("key"), heads("value")
        scores = query @ key.transpose(0, 2, 1) / np.sqrt(size)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        return np.asarray(
            (scores @ value).transpose(1, 0, 2).reshape(tokens, width), dtype=np.float32
        )


def _one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """BLAS on one thread: products this small only lose time to a thread pool (ten times
    slower on a busy two-core machine). Without threadpoolctl, BLAS keeps its threads."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    limits: contextlib.AbstractContextManager[object] = threadpool_limits(1, user_api="blas")
    return limits


def _dense(x: Array, w: dict[str, Array], name: str) -> Array:
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def _layer_norm(x: Array, w: dict[str, Array], name: str) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return np.asarray(
        (x - mean) / np.sqrt(var + _EPS) * w[name + ".weight"] + w[name + ".bias"], dtype=np.float32
    )


def _gelu(x: Array) -> Array:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def _erf(x: Array) -> Array:
    """erf to within 1.2e-7 (Numerical Recipes' ``erfc`` Chebyshev fit); numpy has none."""
    z = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = (
        -z * z
        - 1.26551223
        + t
        * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t
                        * (
                            0.27886807
                            + t
                            * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))
                        )
                    )
                )
            )
        )
    )
    result = 1.0 - t * np.exp(poly)
    return np.where(x >= 0, result, -result).astype(np.float32)
