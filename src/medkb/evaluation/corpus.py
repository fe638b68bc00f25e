"""Reuse-or-build: a knowledge base holding exactly one evaluation corpus.

After a corpus is ingested, its file's sha256 is recorded in ``kb_info``
(``eval_corpus_sha256``). A later evaluation of the same file on the same home finds the
marker and skips ingest; a home that holds anything else is refused rather than mixed.
The embedding model needs no marker: :func:`medkb.app.build` already refuses to open a
knowledge base with another model than the one it was built with.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from medkb.app import KnowledgeBase
from medkb.errors import InputError
from medkb.ingest.pipeline import Progress
from medkb.stores.relational import pairs
from medkb.stores.relational.schema import kb_info

MARKER_KEY = "eval_corpus_sha256"
BUILD_SECONDS_KEY = "eval_corpus_ingest_s"


@dataclass
class CorpusBuild:
    """How the knowledge base under evaluation came to hold the corpus.

    ``ingest_s`` is this run's ingest time (0 when the home was reused); ``built_s`` the
    ingest time recorded when the home was built, when known.
    """

    corpus: str
    sha256: str
    pairs: int
    reused: bool
    ingest_s: float
    warnings: int = 0
    built_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "sha256": self.sha256,
            "pairs": self.pairs,
            "reused": self.reused,
            "ingest_s": round(self.ingest_s, 2),
            "warnings": self.warnings,
            "built_s": None if self.built_s is None else round(self.built_s, 2),
        }


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(
            f"Cannot read the corpus {path} ({exc.strerror}); check --corpus."
        ) from exc
    return digest.hexdigest()


def ensure_corpus(
    kb: KnowledgeBase, corpus: Path, *, progress: Progress | None = None
) -> CorpusBuild:
    """Make ``kb`` hold ``corpus``: reuse it when already built from that file, else ingest.

    Long answers are kept whole (the default ``overlong="keep"``; the relational store
    holds the full text); corpus ids stay the pair ids so qrels line up.

    Raises:
        InputError: ``kb`` already holds pairs not built from this corpus, or the corpus
            has a file error.
    """
    sha = file_sha256(corpus)
    recorded, count = _info(kb, MARKER_KEY), _count(kb)
    if recorded == sha and count:
        built = _info(kb, BUILD_SECONDS_KEY)
        seconds = float(built) if built else None
        return CorpusBuild(corpus.name, sha, count, reused=True, ingest_s=0.0, built_s=seconds)
    if count:
        raise InputError(
            f"The home {kb.settings.home} already holds {count:,} pairs that were not built "
            f"from {corpus.name}; evaluate in an empty --home (or leave --home out for a "
            "temporary one)."
        )
    start = time.perf_counter()
    report = kb.ingest([corpus], progress=progress)
    if report.errors:
        first = report.errors[0]
        raise InputError(f"Could not ingest the corpus: {vars(first)}. Fix the file and retry.")
    elapsed = time.perf_counter() - start
    _set_info(kb, {MARKER_KEY: sha, BUILD_SECONDS_KEY: f"{elapsed:.2f}"})
    return CorpusBuild(
        corpus.name, sha, _count(kb), False, elapsed, len(report.warnings), built_s=elapsed
    )


def _info(kb: KnowledgeBase, key: str) -> str | None:
    with kb.engine.connect() as conn:
        value = conn.execute(
            sa.select(kb_info.c.value).where(kb_info.c.key == key)
        ).scalar_one_or_none()
    return None if value is None else str(value)


def _set_info(kb: KnowledgeBase, values: dict[str, str]) -> None:
    with kb.engine.begin() as conn:
        conn.execute(kb_info.delete().where(kb_info.c.key.in_(list(values))))
        conn.execute(kb_info.insert(), [{"key": k, "value": v} for k, v in values.items()])


def _count(kb: KnowledgeBase) -> int:
    with kb.engine.connect() as conn:
        return pairs.count_pairs(conn, tenant_id=kb.tenant_id)
