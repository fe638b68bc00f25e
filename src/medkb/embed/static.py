"""A static embedder distilled from all-MiniLM-L6-v2, in the manner of model2vec.

A text's vector is the L2-normalised sum of one precomputed row per WordPiece token: no
transformer runs at query time, so embedding is a tokenizer call plus a gather, tens of
thousands of short texts a second on a laptop CPU and free of torch once distilled.

Distillation (once per cache directory, about half a minute on two CPU cores):

1. Every real token of MiniLM's vocabulary (not ``[PAD]``, ``[unused*]`` and the other
   bracketed specials) goes through the model alone, as ``[CLS] token [SEP]``, mean pooled and
   normalised exactly as sentence-transformers embeds a sentence.
2. PCA (centred, numpy SVD) keeps the top :data:`DIMENSION` components.
3. Each row is scaled by a Zipf weight ``log1p(rank / WEIGHT_KNEE)``. WordPiece lists word
   pieces by descending corpus frequency after its specials and single characters, so
   ``rank`` counts from the first word piece ("the" = 1); characters get rank 1. The knee
   makes the ~100 commonest pieces (function words, punctuation) nearly weightless while
   content words grow with log-rank like model2vec's weights. ``bench/embedder_quality.py``
   holds the measurements behind both choices.
4. One extra row holds the model's embedding of the empty text (``[CLS] [SEP]``), returned
   for texts without any known token so every row stays unit length.

The cache is a float16 ``.npy`` matrix and a JSON manifest written last, each through a
temporary file and ``os.replace``; the manifest names the matrix by its SHA-256, so a torn,
truncated or foreign file is detected and the model is distilled again. A lock file keeps two
processes from distilling the same cache at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from medkb.embed import minilm
from medkb.errors import ConfigError, missing_dependency

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

MODEL_VERSION = 1
DIMENSION = 256
WEIGHT_KNEE = 100.0
MODEL_ID = f"medkb/static-minilm-l6-v2-d{DIMENSION}-v{MODEL_VERSION}"
SOURCE_MODEL = minilm.MODEL_ID

_FORMAT = "medkb-static-embedder"
_MANIFEST = "manifest.json"
_DISTILL_BATCH = 1024  # sequences of 3 tokens per forward pass; measured fastest on CPU
_POOL_CHUNK = 1024  # token rows gathered at once: cache-sized, and bounds memory

Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
#: ``progress(done, total)``: tokens distilled so far, of all.
Progress = Callable[[int, int], None]


class StaticEmbedder:
    """Bag-of-token-vectors embedder distilled from all-MiniLM-L6-v2 (see the module doc).

    Loading is lazy; call :meth:`load` to do it up front, for instance under a progress
    message when :meth:`is_cached` is false (distillation then takes tens of seconds).
    Thread-safe, deterministic, and it prints nothing.

    Args:
        cache_dir: directory shared across knowledge bases (``MEDKB_CACHE_DIR``); the model
            lives in a subdirectory named after :data:`MODEL_ID`.
    """

    model_id = MODEL_ID
    dimension = DIMENSION

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir).expanduser()
        #: Whether this instance distilled the model (False when it read the cache).
        self.distilled = False
        #: Seconds the distillation took, when this instance distilled.
        self.distill_seconds: float | None = None
        self._tokenizer: Tokenizer | None = None
        self._matrix: Float32Array | None = None
        self._lock = threading.Lock()

    @property
    def model_dir(self) -> Path:
        """The directory holding this model's manifest and matrix."""
        return self.cache_dir / MODEL_ID.rsplit("/", 1)[-1]

    def is_cached(self) -> bool:
        """Whether a valid distilled model is in the cache (so :meth:`load` will be quick)."""
        return self._matrix is not None or read_cache(self.model_dir, _tokenizer_sha()) is not None

    def load(self, progress: Progress | None = None) -> None:
        """Read the distilled model, distilling it first if the cache lacks it (idempotent).

        Args:
            progress: called with (tokens done, tokens in all) while distilling.

        Raises:
            ConfigError: the cache directory cannot be written.
            DependencyMissing: distilling needs torch and sentence-transformers.
        """
        with self._lock:
            self._load_locked(progress)

    def embed(self, texts: Sequence[str]) -> Float32Array:
        """Embed ``texts`` into a ``(len(texts), DIMENSION)`` float32 array of unit rows."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; wrap a single text in a list.")
        if len(texts) == 0:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        tokenizer, matrix = self._loaded()
        encodings = tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
        id_lists = [encoding.ids for encoding in encodings]
        lengths = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))
        ids = np.fromiter(
            itertools.chain.from_iterable(id_lists), dtype=np.int64, count=int(lengths.sum())
        )
        return pool(matrix[:-1], ids, lengths, fallback=matrix[-1])

    def _loaded(self) -> tuple[Tokenizer, Float32Array]:
        if self._matrix is None or self._tokenizer is None:
            with self._lock:
                self._load_locked()
        assert self._tokenizer is not None and self._matrix is not None
        return self._tokenizer, self._matrix

    def _load_locked(self, progress: Progress | None = None) -> None:
        if self._matrix is not None:
            return
        tokenizer = open_tokenizer()
        sha = _tokenizer_sha()
        matrix = read_cache(self.model_dir, sha)
        if matrix is None:
            with _cache_lock(self.model_dir):
                matrix = read_cache(self.model_dir, sha)  # another process may have finished
                if matrix is None:
                    started = time.perf_counter()
                    matrix = distill(tokenizer, progress)
                    self.distill_seconds = time.perf_counter() - started
                    self.distilled = True
                    write_cache(self.model_dir, matrix, tokenizer_sha=sha)
        self._tokenizer = tokenizer
        self._matrix = matrix.astype(np.float32)


def pool(
    matrix: Float32Array,
    ids: IntArray,
    lengths: IntArray,
    *,
    fallback: Float32Array,
    chunk: int = _POOL_CHUNK,
) -> Float32Array:
    """Sum the rows ``ids`` per text (``lengths`` consecutive ids each) and L2-normalise.

    Texts whose sum is zero (no tokens, or only tokens without a row) get ``fallback``,
    normalised. Each text is summed in token order by itself, in pieces of ``chunk``
    tokens counted from its own start, so its vector does not depend on the
    other texts of the batch; memory stays bounded however long the texts are.
    """
    sums = np.zeros((len(lengths), matrix.shape[1]), dtype=np.float32)
    long_texts = np.flatnonzero(lengths > chunk)
    ends = np.cumsum(lengths)
    for text in long_texts:
        for start in range(ends[text] - lengths[text], ends[text], chunk):
            sums[text] += matrix[ids[start : min(start + chunk, ends[text])]].sum(axis=0)
    short = np.flatnonzero((lengths > 0) & (lengths <= chunk))
    if len(long_texts):
        ids = ids[np.repeat(lengths <= chunk, lengths)]
    short_starts = np.cumsum(lengths[short]) - lengths[short]
    # Whole texts per gather, about chunk tokens each: cache-sized and never split.
    bounds = [*np.flatnonzero(np.diff(short_starts // chunk, prepend=-1)), len(short)]
    for first, last in itertools.pairwise(bounds):
        begin = short_starts[first]
        end = short_starts[last] if last < len(short) else len(ids)
        rows = matrix[ids[begin:end]]
        sums[short[first:last]] = np.add.reduceat(rows, short_starts[first:last] - begin, axis=0)
    norms = np.linalg.norm(sums, axis=1)
    empty = norms < 1e-6
    sums[~empty] /= norms[~empty, None]
    sums[empty] = fallback / np.linalg.norm(fallback)
    return sums


def open_tokenizer() -> Tokenizer:
    """MiniLM's fast WordPiece tokenizer, without the padding and truncation it ships with."""
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise missing_dependency("tokenizers", minilm._EXTRA, "The static embedder") from exc
    tokenizer = Tokenizer.from_file(str(minilm.model_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _tokenizer_sha() -> str:
    return hashlib.sha256((minilm.model_dir() / "tokenizer.json").read_bytes()).hexdigest()


# --- distillation --------------------------------------------------------------------------


def distill(tokenizer: Tokenizer, progress: Progress | None = None) -> npt.NDArray[np.float16]:
    """Distil the ``(vocab_size + 1, DIMENSION)`` float16 matrix; the last row is the empty text.

    Always runs on the CPU so the result does not depend on the machine's GPU.
    """
    token_ids, raw, empty = token_embeddings(tokenizer, progress)
    matrix = build_matrix(
        token_ids,
        raw,
        empty,
        vocab_size=tokenizer.get_vocab_size(),
        first_word_id=first_word_id(tokenizer),
    )
    return matrix.astype(np.float16)


def token_embeddings(
    tokenizer: Tokenizer, progress: Progress | None = None
) -> tuple[IntArray, Float32Array, Float32Array]:
    """MiniLM's sentence embedding of every real token alone, and of the empty text.

    Returns:
        The real token ids, their ``(n, 384)`` embeddings, and the empty text's embedding.
    """
    model = minilm.load_sentence_transformer("cpu")
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    ids = real_token_ids(tokenizer)
    raw = np.zeros((len(ids), minilm.DIMENSION), dtype=np.float32)
    for start in range(0, len(ids), _DISTILL_BATCH):
        batch = ids[start : start + _DISTILL_BATCH]
        middle = np.stack([np.full_like(batch, cls_id), batch, np.full_like(batch, sep_id)], 1)
        raw[start : start + len(batch)] = _forward(model, middle)
        if progress is not None:
            progress(start + len(batch), len(ids))
    empty = _forward(model, np.array([[cls_id, sep_id]], dtype=np.int64))[0]
    return ids, raw, empty


def _forward(model: SentenceTransformer, input_ids: IntArray) -> Float32Array:
    import torch

    with torch.inference_mode():
        tensor = torch.from_numpy(input_ids)
        features = {
            "input_ids": tensor,
            "attention_mask": torch.ones_like(tensor),
            "token_type_ids": torch.zeros_like(tensor),
        }
        output = model(features)["sentence_embedding"]
    return np.asarray(output.float().numpy(), dtype=np.float32)


def real_token_ids(tokenizer: Tokenizer) -> IntArray:
    """Ids of the vocabulary's real tokens: everything but bracketed specials (``[unused7]``)."""
    vocab = tokenizer.get_vocab()
    real = [i for token, i in vocab.items() if not (token.startswith("[") and token.endswith("]"))]
    return np.array(sorted(real), dtype=np.int64)


def first_word_id(tokenizer: Tokenizer) -> int:
    """Id of the first multi-character word piece ("the" in BERT's vocabulary)."""
    by_id = sorted((i, token) for token, i in tokenizer.get_vocab().items())
    return next(i for i, token in by_id if len(token) > 1 and not token.startswith("["))


def build_matrix(
    token_ids: IntArray,
    raw: Float32Array,
    empty: Float32Array,
    *,
    vocab_size: int,
    first_word_id: int,
    dimension: int = DIMENSION,
    knee: float = WEIGHT_KNEE,
    weights: Float32Array | None = None,
) -> Float32Array:
    """PCA-reduce and Zipf-weight token embeddings into a lookup matrix (pure numpy).

    Rows of ids absent from ``token_ids`` stay zero; row ``vocab_size`` is the empty text.
    ``weights`` (one per token id) replaces the Zipf weights, for experiments.
    """
    mean, components = fit_pca(raw, dimension)
    matrix = np.zeros((vocab_size + 1, dimension), dtype=np.float32)
    if weights is None:
        weights = zipf_weights(token_ids, first_word_id=first_word_id, knee=knee)
    matrix[token_ids] = ((raw - mean) @ components.T) * weights[:, None]
    matrix[vocab_size] = (empty - mean) @ components.T
    return matrix


def fit_pca(vectors: Float32Array, dimension: int) -> tuple[Float32Array, Float32Array]:
    """Mean and top ``dimension`` principal axes of ``vectors``, signs fixed for determinism."""
    if not 1 <= dimension <= vectors.shape[1]:
        raise ValueError(f"PCA dimension must be 1..{vectors.shape[1]}, not {dimension}")
    mean = vectors.mean(axis=0)
    _, _, axes = np.linalg.svd((vectors - mean).astype(np.float64), full_matrices=False)
    axes = axes[:dimension]
    signs = np.sign(axes[np.arange(dimension), np.abs(axes).argmax(axis=1)])
    return mean.astype(np.float32), (axes * signs[:, None]).astype(np.float32)


def zipf_weights(token_ids: IntArray, *, first_word_id: int, knee: float) -> Float32Array:
    """``log1p(rank / knee)`` with rank 1 for ``first_word_id`` and everything before it."""
    ranks = np.maximum(token_ids - first_word_id + 1, 1).astype(np.float64)
    return np.log1p(ranks / knee).astype(np.float32)


# --- cache ---------------------------------------------------------------------------------


def read_cache(directory: Path, tokenizer_sha: str) -> npt.NDArray[np.float16] | None:
    """The cached matrix, or ``None`` when it is missing, corrupt or from another model."""
    try:
        manifest = json.loads((directory / _MANIFEST).read_text(encoding="utf-8"))
        expected = {"format": _FORMAT, "model_id": MODEL_ID, "tokenizer_sha256": tokenizer_sha}
        if any(manifest.get(key) != value for key, value in expected.items()):
            return None
        data = (directory / Path(manifest["matrix_file"]).name).read_bytes()
        if hashlib.sha256(data).hexdigest() != manifest["matrix_sha256"]:
            return None
        matrix = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if matrix.dtype != np.float16 or matrix.shape != (manifest["rows"], DIMENSION):
        return None
    return np.asarray(matrix, dtype=np.float16)


def write_cache(directory: Path, matrix: npt.NDArray[np.float16], *, tokenizer_sha: str) -> None:
    """Write the matrix, then the manifest naming it, each atomically.

    Raises:
        ConfigError: the directory cannot be created or written.
    """
    buffer = io.BytesIO()
    np.save(buffer, matrix, allow_pickle=False)
    data = buffer.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    manifest: dict[str, Any] = {
        "format": _FORMAT,
        "model_id": MODEL_ID,
        "version": MODEL_VERSION,
        "source_model": SOURCE_MODEL,
        "dimension": DIMENSION,
        "rows": matrix.shape[0],
        "empty_text_row": matrix.shape[0] - 1,
        "dtype": "float16",
        "weighting": f"log1p(rank / {WEIGHT_KNEE:g}), rank 1 = first word piece",
        "tokenizer_sha256": tokenizer_sha,
        "matrix_file": f"matrix-{sha[:16]}.npy",
        "matrix_sha256": sha,
    }
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _atomic_write(directory / manifest["matrix_file"], data)
        _atomic_write(directory / _MANIFEST, json.dumps(manifest, indent=2).encode())
    except OSError as exc:
        raise _unwritable(directory, exc) from exc
    for stale in directory.glob("matrix-*.npy"):
        if stale.name != manifest["matrix_file"]:
            stale.unlink(missing_ok=True)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _cache_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` so only one process distils at a time."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = (directory / ".lock").open("a")
    except OSError as exc:
        raise _unwritable(directory, exc) from exc
    with handle:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; atomic writes still keep it valid
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _unwritable(directory: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        f"Cannot write the static embedding model to {directory}: {exc.strerror or exc}. "
        "Point MEDKB_CACHE_DIR at a writable directory."
    )
