"""Embedders by name: the values ``MEDKB_EMBEDDER`` and ``--embedder`` accept."""

from __future__ import annotations

from pathlib import Path

from medkb.embed.base import Embedder
from medkb.errors import ConfigError

#: Accepted embedder names, the default first.
EMBEDDERS: tuple[str, ...] = ("minilm", "static")

#: The name of each embedder by its ``model_id`` (as a knowledge base records it), spelled
#: out so that reading it imports no model code; a test keeps it equal to the classes'.
EMBEDDER_NAMES: dict[str, str] = {
    "sentence-transformers/all-MiniLM-L6-v2": "minilm",
    "medkb/static-minilm-l6-v2-d256-v1": "static",
}


def open_embedder(name: str, *, cache_dir: Path, device: str | None = None) -> Embedder:
    """Create the embedder called ``name``; its model loads lazily on first use.

    Args:
        name: "minilm" (all-MiniLM-L6-v2, 384 dims) or "static" (distilled from it, fast).
        cache_dir: where the static embedder keeps its distilled model.
        device: torch device for "minilm"; ``None`` picks CUDA when available.

    Raises:
        ConfigError: ``name`` is not one of :data:`EMBEDDERS`.
    """
    key = name.strip().lower()
    if key == "minilm":
        from medkb.embed.minilm import MiniLMEmbedder

        return MiniLMEmbedder(device=device)
    if key == "static":
        from medkb.embed.static import StaticEmbedder

        return StaticEmbedder(cache_dir)
    raise ConfigError(
        f"Unknown embedder {name!r}: set MEDKB_EMBEDDER (or --embedder) to one of "
        f"{', '.join(EMBEDDERS)}."
    )
