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


@dataclass
class CorpusBuild:
    """How the knowledge base under evaluation came to hold the corpus."""

    corpus: str
    sha256: str
    pairs: int
    reused: bool
    ingest_s: float
    warnings: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "corpus": self.corpus,
            "sha256": self.sha256,
            "pairs": self.pairs,
            "reused": self.reused,
            "ingest_s": round(self.ingest_s, 2),
            "warnings": self.warnings,
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

    Rows over the field limits are truncated (``overlong="truncate"``) so long answers
    still count; corpus ids stay the pair ids so qrels line up.

    Raises:
        InputError: ``kb`` already holds pairs not built from this corpus, or the corpus
            has a file error.
    """
    sha = file_sha256(corpus)
    recorded, count = _marker(kb), _count(kb)
    if recorded == sha and count:
        return CorpusBuild(corpus.name, sha, count, reused=True, ingest_s=0.0)
    if count:
        raise InputError(
            f"The home {kb.settings.home} already holds {count:,} pairs that were not built "
            f"from {corpus.name}; evaluate in an empty --home (or leave --home out for a "
            "temporary one)."
        )
    start = time.perf_counter()
    report = kb.ingest([corpus], overlong="truncate", progress=progress)
    if report.errors:
        first = report.errors[0]
        raise InputError(f"Could not ingest the corpus: {vars(first)}. Fix the file and retry.")
    elapsed = time.perf_counter() - start
    _set_marker(kb, sha)
    return CorpusBuild(corpus.name, sha, _count(kb), False, elapsed, len(report.warnings))


def _marker(kb: KnowledgeBase) -> str | None:
    with kb.engine.connect() as conn:
        value = conn.execute(
            sa.select(kb_info.c.value).where(kb_info.c.key == MARKER_KEY)
        ).scalar_one_or_none()
    return None if value is None else str(value)


def _set_marker(kb: KnowledgeBase, sha: str) -> None:
    with kb.engine.begin() as conn:
        conn.execute(kb_info.delete().where(kb_info.c.key == MARKER_KEY))
        conn.execute(kb_info.insert(), [{"key": MARKER_KEY, "value": sha}])


def _count(kb: KnowledgeBase) -> int:
    with kb.engine.connect() as conn:
        return pairs.count_pairs(conn, tenant_id=kb.tenant_id)
