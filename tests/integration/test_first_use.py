"""First use of a knowledge base: loading the model is not query time, and the one-time
distillation of the static embedder is announced rather than silent."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from medkb.app import KnowledgeBase, build
from medkb.cli.opening import prepare_embedder
from medkb.config import Settings
from medkb.demo import demo_files
from medkb.embed.static import Progress, StaticEmbedder

LOAD_SECONDS = 0.6


class SlowLoadingStatic(StaticEmbedder):
    """The static embedder with a model that takes a noticeable time to load, as MiniLM's
    does (seconds): what a query must not count as its own time."""

    def _load_locked(self, *args: Any) -> None:
        if self._matrix is None:
            time.sleep(LOAD_SECONDS)
        super()._load_locked(*args)


def test_model_loading_is_not_counted_as_query_time(tmp_path: Path, embed_cache: Path) -> None:
    """The first MiniLM query logged 'embed 6605 ms' and stats averaged 7.4 s."""
    settings = Settings(home=tmp_path / "home", embedder="static", cache_dir=embed_cache)
    with build(settings) as kb:
        kb.ingest(demo_files()[:1])
        kb.searcher.close()
        slow = KnowledgeBase(
            kb.settings, engine=kb.engine, store=kb.store, embedder=SlowLoadingStatic(embed_cache)
        )
        started = time.perf_counter()
        result = slow.query("What are the warning signs of a stroke?")
        assert time.perf_counter() - started >= LOAD_SECONDS  # the model did load here
        assert result.timings_ms["embed"] < LOAD_SECONDS * 1000 / 2
        assert sum(result.timings_ms.values()) < LOAD_SECONDS * 1000
        assert slow.stats()["avg_response_time_ms"] < LOAD_SECONDS * 1000
        slow.searcher.close()


class UncachedStatic(StaticEmbedder):
    """The static embedder as on a machine that has never distilled it: reports no cache
    and calls ``progress`` as distillation does (the model itself comes from the cache)."""

    def is_cached(self) -> bool:
        return False

    def load(self, progress: Progress | None = None) -> None:
        for done in (1024, 2048):
            if progress is not None:
                progress(done, 2048)
        super().load(progress)
        self.distill_seconds = 74.0


def test_first_use_of_the_static_embedder_says_it_distils_once(
    embed_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first use distilled the model for 74 s without a word."""
    embedder = UncachedStatic(embed_cache)
    prepare_embedder(embedder)
    err = capsys.readouterr().err
    assert "distilling it from all-MiniLM-L6-v2" in err
    assert "once per machine" in err and str(embedder.model_dir) in err.replace("\n", "")
    assert "Done in 74 s" in err
    assert embedder.embed(["stroke"]).shape == (1, embedder.dimension)


def test_a_cached_model_prepares_silently(
    embed_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prepare_embedder(StaticEmbedder(embed_cache))
    assert capsys.readouterr().err == ""
